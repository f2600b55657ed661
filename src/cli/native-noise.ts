/**
 * What the GPU stack's native code writes to stderr on its own, which is not the user's business: the
 * Vulkan loader's and Mesa's "XDG_RUNTIME_DIR is invalid" (once per Vulkan instance), Dawn's warnings
 * about adapters it skips ("Warning: Vulkan shaderUniform*ArrayDynamicIndexing required", "Couldn't
 * load Vulkan", each with a "- While …" context and an "at Fn (…/dawn/….cpp:N)" line, then a blank
 * line) and lavapipe's conformance notice. Native code writes to file descriptor 2 directly, past
 * process.stderr, so bin/longlora.mjs runs the command as a child process and passes its stderr
 * through this filter; `--verbose` shows everything.
 */

/** Single lines that are always driver noise. */
const NOISE_LINES: readonly RegExp[] = [
  /^error: XDG_RUNTIME_DIR is invalid or not set in the environment\.?$/,
  /^WARNING: lavapipe is not a conformant vulkan implementation/,
];

/** The first line of a Dawn message: its severity, then the message. */
const DAWN_HEAD = /^(Warning|Error|Info): /;
/** The lines after it: its context (" - While …") and where Dawn raised it. */
const DAWN_CONTEXT = /^ - /;
const DAWN_WHERE = /^\s+at .*[/\\]dawn[/\\].*\)$/;

/**
 * A line filter over a stream's text: `push` takes chunks as they come (split anywhere) and returns
 * what to print now; `end` returns the rest. A Dawn message is held back until its source line shows
 * it is Dawn's (then it is dropped with the blank line after it) or another line shows it is not.
 */
export class NativeNoiseFilter {
  private partial = '';
  /** A message that may be Dawn's, held back line by line. */
  private held: string[] = [];
  /** Drop one blank line: the one that ends a dropped Dawn message. */
  private dropBlank = false;

  push(chunk: string): string {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop()!;
    return lines.map((l) => this.line(l)).join('');
  }

  end(): string {
    let out = this.partial ? this.line(this.partial).replace(/\n$/, '') : '';
    out = this.flushHeld() + out;
    this.partial = '';
    return out;
  }

  private flushHeld(): string {
    const out = this.held.map((l) => `${l}\n`).join('');
    this.held = [];
    return out;
  }

  /** What to print for one complete line (with its newline), given what came before. */
  private line(l: string): string {
    const blank = l.trim() === '';
    if (this.dropBlank) {
      this.dropBlank = false;
      if (blank) return '';
    }
    if (this.held.length > 0) {
      if (DAWN_WHERE.test(l)) {
        this.held = [];
        this.dropBlank = true;
        return '';
      }
      if (DAWN_CONTEXT.test(l)) {
        this.held.push(l);
        return '';
      }
      return this.flushHeld() + this.line(l);
    }
    if (NOISE_LINES.some((r) => r.test(l))) return '';
    if (DAWN_HEAD.test(l)) {
      this.held.push(l);
      return '';
    }
    return `${l}\n`;
  }
}
