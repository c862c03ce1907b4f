/**
 * Encoders of PROXY protocol headers, for a client or a proxy that sends one (and for tests):
 * {@linkcode encodeProxyV1} and {@linkcode encodeProxyV2}, also registered by `codecs/proxy.ts`
 * as the write types `proxy_v1` and `proxy_v2`.
 *
 * @module
 */
import { crc32c } from "./_crc32c.ts";
import { formatIpv4, formatIpv6, ipv4Bytes, ipv6Bytes } from "./_ip.ts";
import {
  FAMILIES,
  FAMILY_BYTES,
  hex,
  TLV_CRC32C,
  UNIX_PATH,
  V2_FIXED,
  V2_SIGNATURE,
} from "./_proxy_wire.ts";
import type { ProxyAddress, ProxyProtocol, ProxyTlv } from "./_proxy_wire.ts";

const encoder = new TextEncoder();

/** What {@linkcode encodeProxyV1} and {@linkcode encodeProxyV2} take: a {@linkcode ProxyInfo} or a part of it. */
export interface ProxyHeader {
  /**
   * `"PROXY"`, or `"LOCAL"` (v2 only; then no addresses).
   *
   * @default {"PROXY"}
   */
  command?: "PROXY" | "LOCAL";
  /**
   * What is proxied. Without it: `"TCP4"` or `"TCP6"` from the addresses, `"UNIX_STREAM"`
   * with paths, `"UNKNOWN"` with neither.
   *
   * @default {undefined}
   */
  protocol?: ProxyProtocol;
  /** The client's address, with `destination`, both of the same family. */
  source?: ProxyAddress;
  /** The address the client connected to. */
  destination?: ProxyAddress;
  /** The client's Unix socket path (v2 only), with `destinationPath`. */
  sourcePath?: string;
  /** The Unix socket path the client connected to. */
  destinationPath?: string;
  /** TLVs to send (v2 only). A CRC32C TLV among them gets its value computed. */
  tlvs?: readonly ProxyTlv[];
}

/** Options for {@linkcode encodeProxyV2}. */
export interface EncodeProxyV2Options {
  /**
   * Append a CRC32C TLV holding the header's checksum (unless `tlvs` has one, which is
   * computed anyway), so that the receiver can check the header arrived intact.
   *
   * @default {false}
   */
  checksum?: boolean;
}

/** A header's addresses checked and in bytes, as both encoders need them. */
interface Resolved {
  protocol: ProxyProtocol;
  source?: { bytes: Uint8Array; port: number };
  destination?: { bytes: Uint8Array; port: number };
}

function resolve(header: ProxyHeader, version: 1 | 2): Resolved {
  const fail = (why: string) => new RangeError(`Cannot encode a PROXY v${version} header: ${why}`);
  const { source, destination, sourcePath, destinationPath, protocol } = header;
  const inet = source !== undefined || destination !== undefined;
  const unix = sourcePath !== undefined || destinationPath !== undefined;
  if (inet && unix) throw fail("it has both addresses and paths");
  if (inet) {
    if (source === undefined || destination === undefined) {
      throw fail("it needs both source and destination");
    }
    const address = (a: ProxyAddress, name: string) => {
      const text = String(a.hostname);
      const bytes = ipv4Bytes(text) ?? ipv6Bytes(text);
      if (bytes === undefined) throw fail(`bad ${name} address "${text}"`);
      if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) {
        throw fail(`bad ${name} port "${a.port}": expected an integer 0-65535`);
      }
      return { bytes, port: a.port };
    };
    const from = address(source, "source");
    const to = address(destination, "destination");
    if (from.bytes.length !== to.bytes.length) {
      throw fail("the source and destination addresses are of different families");
    }
    const v6 = from.bytes.length === 16;
    const allowed = v6 ? ["TCP6", "UDP6"] : ["TCP4", "UDP4"];
    if (protocol !== undefined && !allowed.includes(protocol)) {
      throw fail(`protocol "${protocol}" does not fit IPv${v6 ? 6 : 4} addresses`);
    }
    return { protocol: protocol ?? (v6 ? "TCP6" : "TCP4"), source: from, destination: to };
  }
  if (unix) {
    if (sourcePath === undefined || destinationPath === undefined) {
      throw fail("it needs both sourcePath and destinationPath");
    }
    if (protocol !== undefined && protocol !== "UNIX_STREAM" && protocol !== "UNIX_DGRAM") {
      throw fail(`protocol "${protocol}" does not fit Unix socket paths`);
    }
    const path = (p: string, name: string) => {
      const bytes = encoder.encode(String(p));
      if (bytes.length > UNIX_PATH) {
        throw fail(`${name} of ${bytes.length} bytes is longer than ${UNIX_PATH} bytes`);
      }
      return { bytes, port: 0 };
    };
    return {
      protocol: protocol ?? "UNIX_STREAM",
      source: path(sourcePath, "sourcePath"),
      destination: path(destinationPath, "destinationPath"),
    };
  }
  if (protocol !== undefined && protocol !== "UNKNOWN") {
    throw fail(`protocol "${protocol}" needs addresses`);
  }
  return { protocol: "UNKNOWN" };
}

/**
 * Encodes a version 1 header (the text line): `PROXY TCP4|TCP6 <source> <destination>
 * <source port> <destination port>\r\n`, or `PROXY UNKNOWN\r\n` without addresses. IPv6
 * addresses are written in their canonical form.
 *
 * @param header The addresses (a {@linkcode ProxyInfo} will do).
 * @returns The line's bytes.
 * @throws {RangeError} For a LOCAL command, TLVs, Unix paths or UDP (version 1 has none of
 * these), only one address, addresses of different families, a bad address or port.
 *
 * @example Encoding what a proxy tells the server
 * ```ts
 * import { encodeProxyV1 } from "./proxy.ts";
 * import assert from "node:assert/strict";
 *
 * const line = encodeProxyV1({
 *   source: { hostname: "2001:DB8:0:0::1", port: 56324 },
 *   destination: { hostname: "2001:db8::7", port: 443 },
 * });
 * assert.equal(new TextDecoder().decode(line), "PROXY TCP6 2001:db8::1 2001:db8::7 56324 443\r\n");
 * assert.equal(new TextDecoder().decode(encodeProxyV1({})), "PROXY UNKNOWN\r\n");
 * ```
 */
export function encodeProxyV1(header: ProxyHeader): Uint8Array {
  const command = header.command ?? "PROXY";
  if (command !== "PROXY") {
    throw new RangeError(`Cannot encode a PROXY v1 header: version 1 has no "${command}" command`);
  }
  if (header.tlvs !== undefined && header.tlvs.length > 0) {
    throw new RangeError("Cannot encode a PROXY v1 header: version 1 has no TLVs");
  }
  const { protocol, source, destination } = resolve(header, 1);
  if (protocol === "UNKNOWN") return encoder.encode("PROXY UNKNOWN\r\n");
  if (protocol !== "TCP4" && protocol !== "TCP6") {
    throw new RangeError(`Cannot encode a PROXY v1 header: version 1 has no "${protocol}"`);
  }
  const text = (bytes: Uint8Array) => bytes.length === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
  return encoder.encode(
    `PROXY ${protocol} ${text(source!.bytes)} ${text(destination!.bytes)} ` +
      `${source!.port} ${destination!.port}\r\n`,
  );
}

/**
 * Encodes a version 2 header (binary), with the addresses and TLVs given, and optionally a
 * CRC32C checksum. A LOCAL header (a proxy's own connection, such as a health check) has no
 * addresses and is sent with family UNSPEC.
 *
 * @param header The command, addresses and TLVs (a {@linkcode ProxyInfo} will do).
 * @param options Whether to add a checksum.
 * @returns The header's bytes.
 * @throws {RangeError} For addresses with LOCAL, only one address, addresses of different
 * families, a bad address, port, path or TLV, or more than 65535 bytes after the fixed part.
 *
 * @example Encoding a LOCAL header and a checked PROXY header
 * ```ts
 * import { encodeProxyV2, proxyDecoder } from "./proxy.ts";
 * import { ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const local = encodeProxyV2({ command: "LOCAL" });
 * assert.deepEqual(local.subarray(12), new Uint8Array([0x20, 0x00, 0x00, 0x00]));
 *
 * const buf = new ReadBuffer();
 * buf.append(encodeProxyV2({
 *   source: { hostname: "192.0.2.1", port: 56324 },
 *   destination: { hostname: "198.51.100.7", port: 443 },
 * }, { checksum: true }));
 * const info = proxyDecoder().decode(buf);
 * assert.ok(typeof info === "object");
 * assert.deepEqual(info.source, { hostname: "192.0.2.1", port: 56324 });
 * assert.equal(info.tlvs[0].type, 0x03); // the CRC32C, checked by the decoder
 * ```
 */
export function encodeProxyV2(header: ProxyHeader, options: EncodeProxyV2Options = {}): Uint8Array {
  const fail = (why: string) => new RangeError(`Cannot encode a PROXY v2 header: ${why}`);
  const command = header.command ?? "PROXY";
  if (command !== "PROXY" && command !== "LOCAL") throw fail(`unknown command "${command}"`);
  const { protocol, source, destination } = resolve(header, 2);
  if (command === "LOCAL" && protocol !== "UNKNOWN") throw fail("a LOCAL header has no addresses");
  const tlvs = [...(header.tlvs ?? [])];
  for (const { type, value } of tlvs) {
    if (!Number.isInteger(type) || type < 0 || type > 255) throw fail(`bad TLV type "${type}"`);
    if (!(value instanceof Uint8Array)) throw fail(`TLV ${hex(type)} has no Uint8Array value`);
  }
  const checksums = tlvs.filter((t) => t.type === TLV_CRC32C).length;
  if (checksums > 1) throw fail("more than one CRC32C TLV");
  if (options.checksum && checksums === 0) {
    tlvs.push({ type: TLV_CRC32C, value: new Uint8Array(4) });
  }
  const addressLength = FAMILIES.get(FAMILY_BYTES.get(protocol)!)![1];
  let length = addressLength;
  for (const t of tlvs) length += 3 + (t.type === TLV_CRC32C ? 4 : t.value.length);
  if (length > 0xffff) throw fail(`${length} bytes after the fixed part, over 65535`);

  const out = new Uint8Array(V2_FIXED + length);
  const view = new DataView(out.buffer);
  out.set(V2_SIGNATURE);
  out[12] = 0x20 | (command === "PROXY" ? 1 : 0);
  out[13] = FAMILY_BYTES.get(protocol)!;
  view.setUint16(14, length);
  if (source !== undefined && destination !== undefined) {
    if (protocol === "UNIX_STREAM" || protocol === "UNIX_DGRAM") {
      out.set(source.bytes, V2_FIXED);
      out.set(destination.bytes, V2_FIXED + UNIX_PATH);
    } else {
      const size = source.bytes.length;
      out.set(source.bytes, V2_FIXED);
      out.set(destination.bytes, V2_FIXED + size);
      view.setUint16(V2_FIXED + 2 * size, source.port);
      view.setUint16(V2_FIXED + 2 * size + 2, destination.port);
    }
  }
  let at = V2_FIXED + addressLength;
  let checksumAt = -1;
  for (const { type, value } of tlvs) {
    const size = type === TLV_CRC32C ? 4 : value.length;
    out[at] = type;
    view.setUint16(at + 1, size);
    if (type === TLV_CRC32C) checksumAt = at + 3;
    else out.set(value, at + 3);
    at += 3 + size;
  }
  if (checksumAt >= 0) view.setUint32(checksumAt, crc32c(out));
  return out;
}
