/**
 * Maps positions in UTF-8 decoded text back to byte offsets.
 *
 * @module
 */

/**
 * Returns how many bytes of `bytes` produce the first `units` UTF-16 code units when decoded
 * the way `TextDecoder("utf-8")` decodes (each maximal invalid subsequence becomes one U+FFFD),
 * so a match found in decoded text can be consumed from the byte buffer exactly, invalid input
 * included. O(bytes walked).
 *
 * @param bytes The encoded bytes, starting where the text starts.
 * @param units A code-unit index into the decoded text.
 * @returns The byte offset where that code unit starts.
 */
export function byteOffsetOfUnit(bytes: Uint8Array, units: number): number {
  let i = 0;
  let produced = 0;
  while (produced < units && i < bytes.length) {
    const b = bytes[i];
    let need = 0;
    let lower = 0x80;
    let upper = 0xbf;
    if (b < 0x80) need = 0;
    else if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lower = 0xa0;
      if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lower = 0x90;
      if (b === 0xf4) upper = 0x8f;
    } else {
      i++; // an invalid lead byte is one U+FFFD
      produced++;
      continue;
    }
    let j = i + 1;
    let got = 0;
    while (got < need && j < bytes.length) {
      const c = bytes[j];
      if (c < lower || c > upper) break;
      lower = 0x80;
      upper = 0xbf;
      got++;
      j++;
    }
    // A complete sequence of four bytes is a surrogate pair; anything cut short is one U+FFFD.
    produced += got === need && need === 3 ? 2 : 1;
    i = j;
  }
  return i;
}
