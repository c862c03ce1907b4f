/**
 * Wire constants of the PROXY protocol shared by its decoder and its encoders (internal).
 *
 * @module
 */

/**
 * What the header says was proxied: TCP or UDP over IPv4 or IPv6, a Unix stream or datagram
 * socket, or `"UNKNOWN"` (v1 `UNKNOWN`, v2 `AF_UNSPEC`): something the sender could not or
 * would not describe.
 */
export type ProxyProtocol =
  | "TCP4"
  | "TCP6"
  | "UDP4"
  | "UDP6"
  | "UNIX_STREAM"
  | "UNIX_DGRAM"
  | "UNKNOWN";

/** An IP address and port, as in `Deno.NetAddr`. */
export interface ProxyAddress {
  /** The address: dotted quad, or IPv6 text as Deno reports it (`"::1"`). */
  hostname: string;
  /** The port, 0–65535. */
  port: number;
}

/** A type-length-value field of a v2 header (see {@linkcode PROXY_TLV} for the known types). */
export interface ProxyTlv {
  /** The type, 0–255. */
  type: number;
  /** The value, an owned copy (for text such as the authority, decode it as UTF-8). */
  value: Uint8Array;
}

/** How a v1 header starts. */
export const V1_PREFIX: Uint8Array = new TextEncoder().encode("PROXY ");
/** The longest v1 line, CRLF included. */
export const V1_MAX_LINE = 107;
/** How a v2 header starts. */
export const V2_SIGNATURE: Uint8Array = new Uint8Array([
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
]);
/** The fixed part of a v2 header: signature, version and command, family, length. */
export const V2_FIXED = 16;
/** The size of a Unix socket path in a v2 header (`sun_path`). */
export const UNIX_PATH = 108;
/** The TLV types the codec itself acts on. */
export const TLV_CRC32C = 0x03;
/** Padding: dropped by the decoder. */
export const TLV_NOOP = 0x04;

/** The family and transport bytes the specification defines, with their address block size. */
export const FAMILIES: ReadonlyMap<number, readonly [ProxyProtocol, number]> = new Map<
  number,
  readonly [ProxyProtocol, number]
>([
  [0x00, ["UNKNOWN", 0]],
  [0x11, ["TCP4", 12]],
  [0x12, ["UDP4", 12]],
  [0x21, ["TCP6", 36]],
  [0x22, ["UDP6", 36]],
  [0x31, ["UNIX_STREAM", 2 * UNIX_PATH]],
  [0x32, ["UNIX_DGRAM", 2 * UNIX_PATH]],
]);

/** The family and transport byte of each protocol. */
export const FAMILY_BYTES: ReadonlyMap<ProxyProtocol, number> = new Map(
  [...FAMILIES].map(([byte, [protocol]]) => [protocol, byte]),
);

/** A byte as `0x..` text. */
export function hex(b: number, width = 2): string {
  return `0x${b.toString(16).padStart(width, "0")}`;
}
