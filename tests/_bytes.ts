/** Test payloads shared by the interop tests. */

/** The 256 byte values, in order. */
export function allBytes(): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, i) => i);
}

/**
 * Deterministic pseudo-random bytes (all values appear): the top byte of a 32-bit LCG, the
 * same one the Perl peers' `lcg_bytes` implements.
 */
export function noise(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
