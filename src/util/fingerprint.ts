/** FNV-1a 64-bit (as hex) over strings and bytes: the base-model fingerprint. */
export function fingerprint(parts: (string | Uint8Array)[]): string {
  let h1 = 0x811c9dc5;
  let h2 = 0xcbf29ce4;
  const mix = (b: number) => {
    h1 = Math.imul(h1 ^ b, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ b, 0x100001b3) >>> 0;
  };
  for (const p of parts) {
    const bytes = typeof p === 'string' ? new TextEncoder().encode(p) : p;
    for (const b of bytes) mix(b);
    mix(0xff);
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}
