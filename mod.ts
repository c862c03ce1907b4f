/**
 * @anyevent/handle: buffered, non-blocking I/O on one connection for Deno, after Perl's
 * AnyEvent::Handle. An ordered queue of typed reads over one shared buffer, a write queue with
 * typed writes and backpressure, and clear errors.
 *
 * @example Reading lines from a peer
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const peer = listener.accept().then(async (conn) => {
 *   await conn.write(new TextEncoder().encode("hello\r\nworld\n"));
 *   conn.close();
 * });
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * assert.equal(await h.read("line"), "hello");
 * assert.equal(await h.read("line"), "world");
 * h.destroy();
 * await peer;
 * listener.close();
 * ```
 *
 * @module
 */
export { Handle } from "./handle/handle.ts";
export { HandleSettings } from "./handle/settings.ts";
export { HandleLayers } from "./handle/layers.ts";
export { HandleServer } from "./handle/serve.ts";
export type { ServedHandle, ServedProxyInfo, ServeOptions, ServeStats } from "./handle/serve.ts";
export type {
  ConnectCallbacks,
  ConnectTarget,
  CustomReader,
  HandleCallback,
  HandleOptions,
  ReadCallback,
  ReadOptions,
} from "./handle/handle.ts";
export type { ReadIterator } from "./handle/iterate.ts";
export { ReadBuffer } from "./handle/buffer.ts";
export { HandleError, ioError } from "./handle/errors.ts";
export type { HandleErrorCode, HandleErrorOptions } from "./handle/errors.ts";
export { toTransport } from "./handle/transport.ts";
export type {
  ByteReader,
  ByteWriter,
  HandleSource,
  LayerContext,
  ReaderWriterPair,
  Transport,
  TransportLayer,
} from "./handle/transport.ts";
export { NEED_MORE } from "./codecs/decoder.ts";
export type { Decoder, NeedMore } from "./codecs/decoder.ts";
export {
  codecSettings,
  readType,
  registerReadType,
  registerWriteType,
  withCodecSettings,
  writeType,
} from "./codecs/registry.ts";
export type {
  CodecSettings,
  Decoded,
  JsonCoder,
  ReadArgs,
  ReadTypeEntry,
  ReadTypes,
  ReadTypeShape,
  ReadValues,
  RegisterReadTypeOptions,
  UncalledArgs,
  WriteArgs,
  WriteEncoder,
  WriteTypes,
} from "./codecs/registry.ts";
export { DEFAULT_MAX_FRAME_LENGTH, frameLimit } from "./codecs/limits.ts";
export { chunkDecoder } from "./codecs/chunk.ts";
export { DEFAULT_MAX_LINE_LENGTH, lineDecoder } from "./codecs/line.ts";
export type { Line, LineOptions } from "./codecs/line.ts";
export { regexDecoder } from "./codecs/regex.ts";
export type { RegexMatch, RegexOptions, RegexRest } from "./codecs/regex.ts";
export { encodeNetstring, netstringDecoder } from "./codecs/netstring.ts";
export type { NetstringOptions } from "./codecs/netstring.ts";
export { encodePackstring, packstringDecoder } from "./codecs/packstring.ts";
export type { PackstringOptions } from "./codecs/packstring.ts";
export { encodeJson, jsonDecoder } from "./codecs/json.ts";
export type { JsonOptions } from "./codecs/json.ts";
export { encodeProxyV1, encodeProxyV2, PROXY_TLV, proxyDecoder } from "./codecs/proxy.ts";
export type {
  EncodeProxyV2Options,
  ProxyAddress,
  ProxyHeader,
  ProxyInfo,
  ProxyOptions,
  ProxyProtocol,
  ProxyTlv,
} from "./codecs/proxy.ts";
export { defaultTlsOptions, sniEntry } from "./tls/options.ts";
export type { SniCertificate, TlsMode, TlsOptions } from "./tls/options.ts";
export { detectTls, tlsDetectDecoder } from "./tls/detect.ts";
export type { TlsDetection } from "./tls/detect.ts";
