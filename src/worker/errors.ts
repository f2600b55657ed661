/** Errors raised by the worker itself (the engine's named errors live in src/engine/errors.ts). */

/** A studio feature whose engine side has not landed yet; the UI shows the message in place. */
export class NotAvailableYetError extends Error {
  constructor(what: string) {
    super(`${what} is not available yet: the engine side of this feature is still being built.`);
    this.name = 'NotAvailableYetError';
  }
}
