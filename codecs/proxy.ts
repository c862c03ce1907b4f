/**
 * The `proxy` read type: the PROXY protocol header, versions 1 and 2 (HAProxy's
 * `doc/proxy-protocol.txt`), that a load balancer such as HAProxy (`send-proxy`,
 * `send-proxy-v2`), AWS NLB, nginx or stunnel puts in front of the client's bytes to tell the
 * server who the client is. Importing this module registers the read type and the write types
 * `proxy_v1` / `proxy_v2` (for a client or a proxy that sends the header).
 *
 * Version 1 is one line of US-ASCII text, at most 107 bytes including the CRLF, fields
 * separated by exactly one space:
 *
 * ```text
 * +-------+-----------+-------------+------------------+-------------+------------------+------+
 * | PROXY | TCP4      | source      | destination      | source port | destination port | CRLF |
 * |       | TCP6      | address     | address          | 0-65535     | 0-65535          |      |
 * +-------+-----------+-------------+------------------+-------------+------------------+------+
 *  "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n"
 *  "PROXY TCP6 2001:db8::1 2001:db8::7 56324 443\r\n"
 *  "PROXY UNKNOWN\r\n"       (printable text may follow "UNKNOWN "; it is ignored)
 * ```
 *
 * Version 2 is binary: 16 fixed bytes, then `length` bytes of addresses and TLVs.
 *
 * ```text
 * offset  size  field
 * 0       12    signature 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A
 * 12      1     version (high nibble, must be 2) | command (low: 0 LOCAL, 1 PROXY)
 * 13      1     family (high: 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX)
 *               | transport (low: 0 UNSPEC, 1 STREAM, 2 DGRAM); one of 00 11 12 21 22 31 32
 * 14      2     length: the number of bytes that follow, big-endian
 * 16      12    INET:  source, destination address (4 bytes each), source, destination port (2)
 *         36    INET6: source, destination address (16 bytes each), source, destination port (2)
 *         216   UNIX:  source, destination path (108 bytes each, NUL-padded)
 *         0     UNSPEC
 * 16+a    rest  TLVs, to the end:  type (1) | value length n (2, big-endian) | value (n)
 * ```
 *
 * What a header becomes ({@linkcode ProxyInfo}):
 *
 * | header | `command` | `protocol` | addresses |
 * |---|---|---|---|
 * | v1 `TCP4` / `TCP6` | `"PROXY"` | `"TCP4"` / `"TCP6"` | `source`, `destination` |
 * | v1 `UNKNOWN` | `"PROXY"` | `"UNKNOWN"` | none: use the connection's own |
 * | v2 PROXY, TCP or UDP over IPv4 / IPv6 | `"PROXY"` | `"TCP4"` `"UDP4"` `"TCP6"` `"UDP6"` | `source`, `destination` |
 * | v2 PROXY, UNIX stream / datagram | `"PROXY"` | `"UNIX_STREAM"` / `"UNIX_DGRAM"` | `sourcePath`, `destinationPath` |
 * | v2 PROXY, UNSPEC (`0x00`) | `"PROXY"` | `"UNKNOWN"` | none: use the connection's own |
 * | v2 LOCAL (health checks) | `"LOCAL"` | as sent (the spec says to ignore it) | none: use the connection's own |
 *
 * IPv6 addresses are given in the text Deno reports for `conn.remoteAddr.hostname` (RFC 5952:
 * `"::1"`, `"2001:db8::7"`; a mapped IPv4 address as `"::ffff:192.0.2.1"`), whatever form a v1
 * sender wrote, so they compare equal to Deno's own. The family and transport bytes accepted
 * are exactly the seven the specification lists; a mixed one such as `0x10` is `EBADMSG`.
 *
 * TLVs are returned in wire order as owned bytes, except NOOP padding (which the specification
 * says to ignore). A CRC32C TLV is verified against the header (a mismatch is `EBADMSG`) and
 * kept in the list, so the application can tell the header was checksummed; the `SSL` TLV is
 * returned whole, its sub-TLVs unparsed.
 *
 * The reader expects a header: as the specification requires, it never guesses whether one is
 * present, so plain client bytes are an error, not a pass-through. Put the `proxy` read first
 * on connections from a trusted proxy only.
 *
 * @example Reading the client's address, then its first line
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import { encodeProxyV2 } from "./proxy.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = new Handle(await listener.accept());
 * const proxy = new Handle(client);
 * proxy.pushWrite("proxy_v2", {
 *   source: { hostname: "2001:db8::1", port: 56324 },
 *   destination: { hostname: "2001:db8::7", port: 443 },
 * });
 * proxy.pushWrite("hello\r\n");
 *
 * const info = await server.read("proxy");
 * assert.deepEqual(info.source, { hostname: "2001:db8::1", port: 56324 });
 * assert.equal(info.protocol, "TCP6");
 * assert.equal(await server.read("line"), "hello");
 * assert.equal(encodeProxyV2(info).length, 16 + 36);
 *
 * proxy.destroy();
 * server.destroy();
 * listener.close();
 * ```
 *
 * @module
 */
import type { ProxyAddress, ProxyProtocol, ProxyTlv } from "./_proxy_wire.ts";
import type { ReadBuffer } from "../base/buffer.ts";
import { HandleError } from "../base/errors.ts";
import { crc32c } from "./_crc32c.ts";
import {
  formatIpv4,
  formatIpv6,
  ipv6Bytes,
  type Scan,
  scanIpv4,
  scanIpv6,
  scanPort,
} from "./_ip.ts";
import {
  FAMILIES,
  hex,
  TLV_CRC32C,
  TLV_NOOP,
  UNIX_PATH,
  V1_MAX_LINE,
  V1_PREFIX,
  V2_FIXED,
  V2_SIGNATURE,
} from "./_proxy_wire.ts";
import { type Decoder, NEED_MORE, type NeedMore } from "../base/decoder.ts";
import { defineReadType, defineWriteType, type ReadType, type WriteType } from "../base/codec.ts";
import {
  encodeProxyV1,
  encodeProxyV2,
  type EncodeProxyV2Options,
  type ProxyHeader,
} from "./proxy_encode.ts";

// The types of the decoder contract, re-exported so that this module's documentation is
// complete on its own (`deno doc --lint codecs/proxy.ts`).
export { type Decoder, NEED_MORE, type NeedMore } from "../base/decoder.ts";
export type { ReadBuffer } from "../base/buffer.ts";
export { encodeProxyV1, encodeProxyV2 } from "./proxy_encode.ts";
export type { EncodeProxyV2Options, ProxyHeader } from "./proxy_encode.ts";

export type { ProxyAddress, ProxyProtocol, ProxyTlv };

/** A decoded PROXY protocol header. */
export interface ProxyInfo {
  /** The protocol version of the header. */
  version: 1 | 2;
  /**
   * `"PROXY"`: relayed for a client, the addresses (if any) are the client's connection.
   * `"LOCAL"` (v2 only): the proxy's own connection, such as a health check; use the real
   * connection's addresses.
   */
  command: "PROXY" | "LOCAL";
  /** What was proxied; `"UNKNOWN"` has no addresses. */
  protocol: ProxyProtocol;
  /** The client's address and port (the connection's source), for TCP and UDP. */
  source?: ProxyAddress;
  /** The address and port the client connected to, for TCP and UDP. */
  destination?: ProxyAddress;
  /** The client's socket path, for Unix sockets (abstract names start with `"\0"`). */
  sourcePath?: string;
  /** The socket path the client connected to, for Unix sockets. */
  destinationPath?: string;
  /** The v2 TLVs in wire order, without NOOP padding; always empty for v1. */
  tlvs: ProxyTlv[];
}

/** Options for {@linkcode proxyDecoder}. */
export interface ProxyOptions {
  /**
   * The largest v2 `length` field accepted: the bytes of addresses and TLVs after the 16
   * fixed bytes. A larger one fails with a fatal `EMSGSIZE` as soon as the 16 bytes are read,
   * before any of the rest is buffered. The field itself cannot exceed 65535. (A v1 line is
   * always limited to 107 bytes, as the specification says.)
   *
   * @default {4096}
   */
  maxLength?: number;
  /**
   * Accept only this version; the other one fails with `EBADMSG` at its first byte.
   *
   * @default {undefined}
   */
  version?: 1 | 2;
}

/**
 * The TLV types the specification registers (section 2.2). `SSL` holds a client flags byte, a
 * 32-bit verify result and sub-TLVs (`SSL_VERSION` 0x21, `SSL_CN` 0x22, `SSL_CIPHER` 0x23,
 * `SSL_SIG_ALG` 0x24, `SSL_KEY_ALG` 0x25); 0xE0–0xEF are for applications.
 *
 * @example Finding the authority (TLS SNI) of a connection
 * ```ts
 * import { PROXY_TLV, proxyDecoder, encodeProxyV2 } from "./proxy.ts";
 * import { ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(encodeProxyV2({
 *   source: { hostname: "192.0.2.1", port: 56324 },
 *   destination: { hostname: "198.51.100.7", port: 443 },
 *   tlvs: [{ type: PROXY_TLV.AUTHORITY, value: new TextEncoder().encode("example.com") }],
 * }));
 * const info = proxyDecoder().decode(buf);
 * assert.ok(info !== undefined && typeof info === "object");
 * const authority = info.tlvs.find((t) => t.type === PROXY_TLV.AUTHORITY);
 * assert.equal(new TextDecoder().decode(authority?.value), "example.com");
 * ```
 */
export const PROXY_TLV = {
  /** The ALPN protocol, as in the TLS extension (`h2`, `http/1.1`). */
  ALPN: 0x01,
  /** The host name the client asked for (TLS SNI), UTF-8. */
  AUTHORITY: 0x02,
  /** A CRC32C of the whole header, big-endian; verified by the decoder. */
  CRC32C: 0x03,
  /** Padding, dropped by the decoder. */
  NOOP: 0x04,
  /** An opaque connection ID of up to 128 bytes. */
  UNIQUE_ID: 0x05,
  /** TLS information from the proxy, with sub-TLVs. */
  SSL: 0x20,
  /** The network namespace's name, US-ASCII. */
  NETNS: 0x30,
} as const;

const DEFAULT_MAX_LENGTH = 4096;
const SPACE = 0x20;
const CR = 0x0d;
const LF = 0x0a;
const V1_PROTOCOLS = ["TCP4", "TCP6", "UNKNOWN"];
const V1_FIELDS = [
  "protocol",
  "source address",
  "destination address",
  "source port",
  "destination port",
];
const utf8 = new TextDecoder();
const quoted = (bytes: Uint8Array) => JSON.stringify(String.fromCharCode(...bytes));

function v1Error(message: string): HandleError {
  return new HandleError("EBADMSG", `Cannot parse PROXY v1 header: ${message}`);
}

function v2Error(message: string): HandleError {
  return new HandleError("EBADMSG", `Cannot parse PROXY v2 header: ${message}`);
}

function scanV1Protocol(text: string): Scan {
  return {
    prefix: V1_PROTOCOLS.some((p) => p.startsWith(text)),
    complete: V1_PROTOCOLS.includes(text),
  };
}

/** Throws unless `text` is (with `complete`) or may become (without) v1 field `index`. */
function checkV1Field(index: number, protocol: string, text: string, complete: boolean): void {
  const scan = index === 0
    ? scanV1Protocol(text)
    : index <= 2
    ? (protocol === "TCP4" ? scanIpv4(text) : scanIpv6(text))
    : scanPort(text);
  if (complete ? scan.complete : scan.prefix) return;
  throw v1Error(
    text === "" && complete
      ? `empty ${V1_FIELDS[index]} (fields are separated by exactly one space)`
      : `bad ${V1_FIELDS[index]} ${JSON.stringify(text)}`,
  );
}

/**
 * Decodes a v1 line. Each attempt rescans the line from its start: it is at most 107 bytes,
 * so this costs O(107) per attempt, and checking every byte that has arrived is what lets an
 * impossible byte fail at once.
 */
function decodeV1(buf: ReadBuffer): ProxyInfo | NeedMore {
  // The CR of a line of at most 107 bytes is at offset 105 or before.
  const n = Math.min(buf.length, V1_MAX_LINE - 1);
  for (let i = 1; i < Math.min(n, V1_PREFIX.length); i++) {
    if (buf.at(i) !== V1_PREFIX[i]) {
      throw v1Error(`it starts with ${quoted(buf.view(0, i + 1))}, not "PROXY "`);
    }
  }
  const fields: string[] = [];
  let start = V1_PREFIX.length;
  let ignoring = false; // in the rest of an UNKNOWN line
  for (let i = start; i < n; i++) {
    const b = buf.at(i)!;
    if (b === CR) {
      if (!ignoring) {
        const text = buf.text(start, i);
        checkV1Field(fields.length, fields[0], text, true);
        fields.push(text);
        if (fields[0] !== "UNKNOWN" && fields.length < V1_FIELDS.length) {
          throw v1Error(`the line ends after the ${V1_FIELDS[fields.length - 1]}`);
        }
      }
      if (i + 1 === buf.length) return NEED_MORE;
      if (buf.at(i + 1) !== LF) throw v1Error(`CR followed by byte ${hex(buf.at(i + 1)!)}`);
      const info = v1Info(fields);
      buf.consume(i + 2);
      return info;
    }
    if (b < SPACE || b > 0x7e) throw v1Error(`byte ${hex(b)} at offset ${i}`);
    if (ignoring || b !== SPACE) continue;
    const text = buf.text(start, i);
    checkV1Field(fields.length, fields[0], text, true);
    fields.push(text);
    if (text === "UNKNOWN") {
      ignoring = true;
    } else if (fields.length === V1_FIELDS.length) {
      throw v1Error("a space after the destination port (expected CRLF)");
    }
    start = i + 1;
  }
  if (!ignoring && n > start) checkV1Field(fields.length, fields[0], buf.text(start, n), false);
  if (n === V1_MAX_LINE - 1) throw v1Error(`no CRLF within the first ${V1_MAX_LINE} bytes`);
  return NEED_MORE;
}

function v1Info(fields: string[]): ProxyInfo {
  const protocol = fields[0] as ProxyProtocol;
  if (protocol === "UNKNOWN") return { version: 1, command: "PROXY", protocol, tlvs: [] };
  const host = (text: string) => protocol === "TCP4" ? text : formatIpv6(ipv6Bytes(text)!);
  return {
    version: 1,
    command: "PROXY",
    protocol,
    source: { hostname: host(fields[1]), port: Number(fields[3]) },
    destination: { hostname: host(fields[2]), port: Number(fields[4]) },
    tlvs: [],
  };
}

/**
 * Decodes a v2 header: the 16 fixed bytes are checked as they arrive (O(16) per attempt),
 * then the decoder waits for `length` more bytes without looking at them, and parses them
 * once.
 */
function decodeV2(buf: ReadBuffer, maxLength: number): ProxyInfo | NeedMore {
  const n = Math.min(buf.length, V2_FIXED);
  for (let i = 1; i < Math.min(n, V2_SIGNATURE.length); i++) {
    if (buf.at(i) !== V2_SIGNATURE[i]) {
      throw v2Error(
        `signature byte ${hex(buf.at(i)!)} at offset ${i}, expected ${hex(V2_SIGNATURE[i])}`,
      );
    }
  }
  if (n > 12) {
    const versionCommand = buf.at(12)!;
    if (versionCommand >> 4 !== 2) throw v2Error(`unsupported version ${versionCommand >> 4}`);
    if ((versionCommand & 0xf) > 1) throw v2Error(`unknown command ${hex(versionCommand & 0xf)}`);
  }
  if (n > 13 && !FAMILIES.has(buf.at(13)!)) {
    throw v2Error(`unknown address family and transport ${hex(buf.at(13)!)}`);
  }
  if (n < V2_FIXED) return NEED_MORE;
  const [protocol, addressLength] = FAMILIES.get(buf.at(13)!)!;
  const length = (buf.at(14)! << 8) | buf.at(15)!;
  if (length < addressLength) {
    throw v2Error(
      `length ${length} is shorter than the ${addressLength} bytes of ${protocol} addresses`,
    );
  }
  if (length > maxLength) {
    throw new HandleError(
      "EMSGSIZE",
      `PROXY v2 header announces ${length} bytes after its fixed part, over maxLength of ${maxLength} bytes`,
    );
  }
  const total = V2_FIXED + length;
  if (buf.length < total) return NEED_MORE;
  const header = buf.view(0, total);
  const command = (header[12] & 0xf) === 1 ? "PROXY" : "LOCAL";
  const info = { version: 2, command, protocol } as ProxyInfo; // tlvs last, when read
  if (command === "PROXY") readAddresses(header, protocol, info);
  info.tlvs = readTlvs(header, V2_FIXED + addressLength);
  buf.consume(total);
  return info;
}

function readAddresses(header: Uint8Array, protocol: ProxyProtocol, info: ProxyInfo): void {
  const port = (at: number) => (header[at] << 8) | header[at + 1];
  const at = V2_FIXED;
  if (protocol === "TCP4" || protocol === "UDP4") {
    info.source = { hostname: formatIpv4(header, at), port: port(at + 8) };
    info.destination = { hostname: formatIpv4(header, at + 4), port: port(at + 10) };
  } else if (protocol === "TCP6" || protocol === "UDP6") {
    info.source = { hostname: formatIpv6(header, at), port: port(at + 32) };
    info.destination = { hostname: formatIpv6(header, at + 16), port: port(at + 34) };
  } else if (protocol === "UNIX_STREAM" || protocol === "UNIX_DGRAM") {
    info.sourcePath = unixPath(header.subarray(at, at + UNIX_PATH));
    info.destinationPath = unixPath(header.subarray(at + UNIX_PATH, at + 2 * UNIX_PATH));
  }
}

/** A NUL-padded `sun_path`: the path up to the first NUL, or an abstract name after a NUL. */
function unixPath(field: Uint8Array): string {
  const from = field[0] === 0 ? 1 : 0;
  const nul = field.indexOf(0, from);
  const name = utf8.decode(field.subarray(from, nul < 0 ? field.length : nul));
  return from === 1 && name !== "" ? `\0${name}` : name;
}

function readTlvs(header: Uint8Array, from: number): ProxyTlv[] {
  const tlvs: ProxyTlv[] = [];
  let checksumAt = -1;
  for (let at = from; at < header.length;) {
    if (at + 3 > header.length) {
      throw v2Error(`${header.length - at} bytes after the last TLV, too few for a TLV`);
    }
    const type = header[at];
    const length = (header[at + 1] << 8) | header[at + 2];
    const end = at + 3 + length;
    if (end > header.length) {
      throw v2Error(
        `TLV ${hex(type)} of ${length} bytes runs past the end of the header (${
          header.length - at - 3
        } bytes left)`,
      );
    }
    if (type === TLV_CRC32C) {
      if (length !== 4) throw v2Error(`CRC32C TLV of ${length} bytes, expected 4`);
      if (checksumAt >= 0) throw v2Error("more than one CRC32C TLV");
      checksumAt = at + 3;
    }
    if (type !== TLV_NOOP) tlvs.push({ type, value: header.slice(at + 3, end) });
    at = end;
  }
  if (checksumAt >= 0) {
    const sent = new DataView(header.buffer, header.byteOffset).getUint32(checksumAt);
    const computed = crc32c(header, checksumAt, checksumAt + 4);
    if (sent !== computed) {
      throw v2Error(`CRC32C ${hex(sent, 8)} does not match the header's ${hex(computed, 8)}`);
    }
  }
  return tlvs;
}

/**
 * Makes a decoder of one PROXY protocol header, version 1 or 2 (told apart by the first byte).
 * It consumes exactly the header: what the client sent after it stays in the buffer for the
 * next reader.
 *
 * Strict, and failing as early as it can, with nothing consumed: the first byte must start
 * `"PROXY "` or the v2 signature, and every byte that makes a valid header impossible is an
 * error as soon as it arrives (a v1 line without CRLF fails at its 106th byte, an unknown v2
 * version or command at the 13th, a `length` shorter than the addresses or over `maxLength`
 * at the 16th). Version 1 fields: `TCP4` / `TCP6` / `UNKNOWN`; IPv4 as a dotted quad without
 * leading zeros; IPv6 as RFC 4291 text (one `::`, an optional dotted tail); ports 0–65535
 * without leading zeros; single spaces; CRLF, never a bare CR or LF. Version 2: the signature,
 * version 2, command LOCAL or PROXY, a defined family and transport byte, TLVs that end
 * exactly at the end of the header, and a matching CRC32C if one is sent.
 *
 * Cost: a v1 attempt rescans the line so far, at most 106 bytes (bounded, so waiting for a
 * line one byte at a time costs at most ~5,600 byte checks in all); a v2 attempt checks the
 * 16 fixed bytes, then waits for the rest without scanning it and parses it once. At most
 * 107 bytes (v1) or 16 + `maxLength` bytes (v2) are ever waited for.
 *
 * | error | code | when |
 * |---|---|---|
 * | not a PROXY header, a malformed v1 line, a v2 header with a bad signature, version, command, family, length, TLV or checksum | `EBADMSG` | at the first impossible byte |
 * | a v2 `length` over `maxLength` | `EMSGSIZE` | when the 16 fixed bytes have arrived |
 *
 * All are fatal, and leave the buffer as it was.
 *
 * @param options The v2 length limit, and which versions to accept.
 * @returns A decoder of {@linkcode ProxyInfo}.
 * @throws {RangeError} If `maxLength` is not a non-negative integer or `Infinity`, or
 * `version` is not 1 or 2.
 *
 * @example Decoding a v1 header, and the bytes after it
 * ```ts
 * import { NEED_MORE, ReadBuffer } from "@anyevent/handle";
 * import { proxyDecoder } from "./proxy.ts";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * const proxy = proxyDecoder();
 * buf.append(new TextEncoder().encode("PROXY TCP4 192.0.2.1 198.51.100.7 56324 4"));
 * assert.equal(proxy.decode(buf), NEED_MORE);
 * buf.append(new TextEncoder().encode("43\r\nGET / HTTP/1.1\r\n"));
 * assert.deepEqual(proxy.decode(buf), {
 *   version: 1,
 *   command: "PROXY",
 *   protocol: "TCP4",
 *   source: { hostname: "192.0.2.1", port: 56324 },
 *   destination: { hostname: "198.51.100.7", port: 443 },
 *   tlvs: [],
 * });
 * assert.equal(buf.text(), "GET / HTTP/1.1\r\n");
 * ```
 *
 * @example Rejecting a client that sends no header
 * ```ts
 * import { HandleError, ReadBuffer } from "@anyevent/handle";
 * import { proxyDecoder } from "./proxy.ts";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new TextEncoder().encode("G"));
 * assert.throws(
 *   () => proxyDecoder().decode(buf),
 *   (e) => e instanceof HandleError && e.code === "EBADMSG" && e.fatal,
 * );
 * assert.equal(buf.length, 1);
 * ```
 */
export function proxyDecoder(options: ProxyOptions = {}): Decoder<ProxyInfo> {
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  if (!(maxLength >= 0) || (!Number.isSafeInteger(maxLength) && maxLength !== Infinity)) {
    throw new RangeError(
      `Cannot use maxLength "${maxLength}": expected a non-negative integer or Infinity`,
    );
  }
  const only = options.version;
  if (only !== undefined && only !== 1 && only !== 2) {
    throw new RangeError(`Cannot accept PROXY protocol version "${only}": expected 1 or 2`);
  }
  return {
    decode(buf: ReadBuffer): ProxyInfo | NeedMore {
      const first = buf.at(0);
      if (first === undefined) return NEED_MORE;
      if (first === V1_PREFIX[0] && only !== 2) return decodeV1(buf);
      if (first === V2_SIGNATURE[0] && only !== 1) return decodeV2(buf, maxLength);
      const what = `byte ${hex(first)} (${quoted(buf.view(0, 1))})`;
      throw new HandleError(
        "EBADMSG",
        only === undefined
          ? `Cannot parse PROXY header: it starts with ${what}, neither "PROXY " nor the v2 signature`
          : `Cannot parse PROXY header: expected version ${only}, got ${what}`,
      );
    },
  };
}

/** The type of {@linkcode proxy}. */
export type ProxyType = ReadType<[] | [options: ProxyOptions], ProxyInfo, false>;

/**
 * The `proxy` read type: `h.pushRead(proxy, [options,] (h, info) => ...)`, a PROXY protocol
 * v1 or v2 header (see {@linkcode proxyDecoder}).
 *
 * @example Reading the header a load balancer sends first
 * ```ts
 * import { Handle, proxy } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const peer = listener.accept().then(async (conn) => {
 *   await conn.write(new TextEncoder().encode("PROXY TCP4 192.0.2.1 192.0.2.2 5000 80\r\n"));
 *   return conn;
 * });
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * const info = await h.read(proxy);
 * assert.deepEqual(info.source, { hostname: "192.0.2.1", port: 5000 });
 * h.destroy();
 * (await peer).close();
 * listener.close();
 * ```
 */
export const proxy: ProxyType = defineReadType(
  "proxy",
  (_settings, options?: ProxyOptions) => proxyDecoder(options),
  { maxArgs: 1 },
);

/**
 * The `proxy_v1` write type: `h.pushWrite(proxyV1, header)`, a PROXY protocol v1 line (see
 * {@linkcode encodeProxyV1}).
 *
 * @example Sending a v1 header before the client's bytes
 * ```ts
 * import { NO_CODEC_SETTINGS, proxyV1 } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const bytes = proxyV1.encoder(NO_CODEC_SETTINGS, {
 *   protocol: "TCP4",
 *   source: { hostname: "192.0.2.1", port: 5000 },
 *   destination: { hostname: "192.0.2.2", port: 80 },
 * });
 * assert.equal(new TextDecoder().decode(bytes), "PROXY TCP4 192.0.2.1 192.0.2.2 5000 80\r\n");
 * ```
 */
export const proxyV1: WriteType<[header: ProxyHeader]> = defineWriteType(
  "proxy_v1",
  (_settings, header: ProxyHeader) => encodeProxyV1(header),
  { maxArgs: 1 },
);

/**
 * The `proxy_v2` write type: `h.pushWrite(proxyV2, header, [options])`, a binary PROXY
 * protocol v2 header (see {@linkcode encodeProxyV2}).
 *
 * @example Sending a v2 header
 * ```ts
 * import { NO_CODEC_SETTINGS, proxyV2 } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const bytes = proxyV2.encoder(NO_CODEC_SETTINGS, { command: "LOCAL" });
 * assert.equal(bytes.length, 16);
 * ```
 */
export const proxyV2: WriteType<[header: ProxyHeader, options?: EncodeProxyV2Options]> =
  defineWriteType(
    "proxy_v2",
    (_settings, header: ProxyHeader, options?: EncodeProxyV2Options) =>
      encodeProxyV2(header, options),
    { maxArgs: 2 },
  );
