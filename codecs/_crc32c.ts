/**
 * CRC-32C (Castagnoli, RFC 4960 appendix B), for the PROXY protocol v2 checksum TLV
 * (internal).
 *
 * @module
 */

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/**
 * Computes the CRC-32C of `bytes`, reading the bytes in `[zeroFrom, zeroTo)` as zeros (the
 * PROXY protocol sums its header with the checksum field zeroed).
 *
 * @param bytes The data.
 * @param zeroFrom Start of the range read as zeros.
 * @param zeroTo End of the range read as zeros (exclusive).
 * @returns The checksum, an unsigned 32-bit integer.
 */
export function crc32c(bytes: Uint8Array, zeroFrom = 0, zeroTo = 0): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    const b = i >= zeroFrom && i < zeroTo ? 0 : bytes[i];
    crc = TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
