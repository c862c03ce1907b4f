/**
 * TLS record framing, just enough to feed TLS whole records, to notice bytes that are
 * not TLS at all, and to send an alert of our own:
 *
 * | byte | 0                          | 1    | 2       | 3-4                    |
 * | ---- | -------------------------- | ---- | ------- | ---------------------- |
 * |      | content type 20-24         | 0x03 | 0x00-04 | length <= 2^14 + 2048  |
 *
 * @module
 */

const HEADER = 5;
const MAX_RECORD = (1 << 14) + 2048;

/** Whether 5 bytes at `at` are a plausible TLS record header. */
function validHeader(bytes: Uint8Array, at: number): boolean {
  const type = bytes[at];
  return type >= 20 && type <= 24 && bytes[at + 1] === 3 && bytes[at + 2] <= 4 &&
    ((bytes[at + 3] << 8) | bytes[at + 4]) <= MAX_RECORD;
}

/**
 * How many bytes at the front of `bytes` are whole TLS records, and whether what follows
 * them could still be (the start of) a record.
 *
 * @param bytes Bytes read from the network.
 * @returns `length`: bytes of whole records; `valid`: false if the next bytes are not a
 * record header.
 */
export function recordPrefix(bytes: Uint8Array): { length: number; valid: boolean } {
  let at = 0;
  while (bytes.length - at >= HEADER) {
    if (!validHeader(bytes, at)) return { length: at, valid: false };
    const end = at + HEADER + ((bytes[at + 3] << 8) | bytes[at + 4]);
    if (end > bytes.length) break;
    at = end;
  }
  const rest = bytes.length - at;
  // A partial header is invalid as soon as a byte present breaks the rules.
  const partialOk = rest === 0 || (bytes[at] >= 20 && bytes[at] <= 24 &&
    (rest < 2 || bytes[at + 1] === 3) && (rest < 3 || bytes[at + 2] <= 4));
  return { length: at, valid: partialOk };
}

/** TLS alert descriptions this library sends itself (RFC 8446, section 6). */
export const TLS_ALERT = {
  /** No certificate fits the ClientHello (here: it names no server name). */
  handshakeFailure: 40,
  /** The server has no certificate for the name the client asked for (RFC 6066, SNI). */
  unrecognizedName: 112,
} as const;

/**
 * A fatal TLS alert as a plaintext record, for a server to send in place of its first flight
 * (before a ServerHello nothing is encrypted yet, in TLS 1.2 and 1.3 alike):
 *
 * | byte | 0          | 1-2           | 3-4        | 5          | 6           |
 * | ---- | ---------- | ------------- | ---------- | ---------- | ----------- |
 * |      | 21 (alert) | 0x0303 (TLS)  | length 2   | 2 (fatal)  | description |
 *
 * @param description The alert's code, such as {@linkcode TLS_ALERT}`.unrecognizedName`.
 * @returns The 7 bytes of the record.
 */
export function fatalAlert(description: number): Uint8Array {
  return new Uint8Array([21, 3, 3, 0, 2, 2, description]);
}
