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
export type { HandleLayers } from "./handle/handle_layers.ts";
export type { HandleReading } from "./handle/handle_reading.ts";
export type { HandleWriting } from "./handle/handle_writing.ts";
export { HandleServer } from "./handle/serve.ts";
export type { ServedHandle, ServedProxyInfo, ServeOptions, ServeStats } from "./handle/serve.ts";
export type { Addressed, ConnectAddr, ListenAddr, ServedAddr } from "./handle/addresses.ts";
export type {
  AddressedHandle,
  CustomReader,
  HandleCallback,
  HandleOptions,
  ReadCallback,
} from "./handle/handle.ts";
export type { CustomReaderFor, HandleCallbackFor, HandleOptionsFor } from "./handle/options.ts";
export type { ConnectCallbacks, ConnectTarget } from "./handle/connect.ts";
export type { ReadOptions } from "./handle/read_calls.ts";
export type { ReadIterator } from "./handle/iterate.ts";
export { ReadBuffer } from "./base/buffer.ts";
export { HandleError, ioError } from "./base/errors.ts";
export type { HandleErrorCode, HandleErrorOptions } from "./base/errors.ts";
export { toTransport } from "./base/transport.ts";
export type {
  ByteReader,
  ByteWriter,
  HandleSource,
  ReaderWriterPair,
  Transport,
} from "./base/transport.ts";
export type { Layer, LayerContext } from "./base/layer.ts";
export { NEED_MORE } from "./base/decoder.ts";
export type { Decoder, NeedMore } from "./base/decoder.ts";
export {
  checkArgCount,
  defineCodec,
  defineReadType,
  defineWriteType,
  isReadType,
  isWriteType,
  NO_CODEC_SETTINGS,
  withUncalled,
} from "./base/codec.ts";
export type {
  AnyReadType,
  AnyWriteType,
  CodecSettings,
  DefineReadTypeOptions,
  DefineWriteTypeOptions,
  JsonCoder,
  ReadAction,
  ReadResult,
  ReadType,
  ReadValues,
  UncalledReadType,
  WriteType,
} from "./base/codec.ts";
export {
  readTypeNamed,
  registerReadType,
  registerWriteType,
  toReadType,
  writeTypeNamed,
} from "./handle/names.ts";
export type {
  BuiltinReadTypes,
  BuiltinWriteTypes,
  ReadTypeNames,
  ReadTypes,
  WriteTypeNames,
  WriteTypes,
} from "./handle/names.ts";
export type {
  AnyArgument,
  ExtraParameter,
  IterateArgs,
  NamedReadArgs,
  NamedReadRest,
  NamedReadResult,
  NamedUncalledArgs,
  NamedWriteArgs,
  PushReadArgs,
  PushReadForms,
  ReadArgs,
  ReadCallArgs,
  ReadCallbackParameter,
  ReadForms,
  ReadParts,
  ReadResultOf,
  ReadTypeArg,
  ReadTypeLike,
  ReadTypeOf,
  TypedReadCallback,
  UncalledArgs,
  Unresolved,
  WriteArgs,
  WriteForms,
  WriteTypeArg,
  WriteTypeOf,
} from "./handle/typed.ts";
export type {
  ExtraArgument,
  Fit,
  FixedForms,
  LastIndex,
  LongestBelow,
  MissingArgument,
  Prefixes,
  Shortest,
  TooFew,
  TooMany,
} from "./handle/fit.ts";
export { DEFAULT_MAX_FRAME_LENGTH, frameLimit } from "./codecs/limits.ts";
export { chunk, chunkDecoder } from "./codecs/chunk.ts";
export type { ChunkType } from "./codecs/chunk.ts";
export { DEFAULT_MAX_LINE_LENGTH, line, lineDecoder } from "./codecs/line.ts";
export type { Line, LineDecoder, LineOptions, LineType } from "./codecs/line.ts";
export { lines, linesDecoder } from "./codecs/lines.ts";
export type { LinesType } from "./codecs/lines.ts";
export { regex, regexDecoder } from "./codecs/regex.ts";
export type { RegexMatch, RegexOptions, RegexRest, RegexType } from "./codecs/regex.ts";
export { encodeNetstring, netstring, netstringDecoder } from "./codecs/netstring.ts";
export type { NetstringOptions, NetstringType } from "./codecs/netstring.ts";
export { encodePackstring, packstring, packstringDecoder } from "./codecs/packstring.ts";
export type { PackstringOptions, PackstringType } from "./codecs/packstring.ts";
export { encodeLengthField, lengthField, lengthFieldDecoder } from "./codecs/length_field.ts";
export type {
  LengthFieldBytes,
  LengthFieldCodec,
  LengthFieldLayout,
  LengthFieldOptions,
  LengthFieldType,
  LengthFieldWriteArgs,
} from "./codecs/length_field.ts";
export { encodeJson, json, jsonDecoder } from "./codecs/json.ts";
export type { JsonOptions, JsonType } from "./codecs/json.ts";
export {
  encodeProxyV1,
  encodeProxyV2,
  proxy,
  PROXY_TLV,
  proxyDecoder,
  proxyV1,
  proxyV2,
} from "./codecs/proxy.ts";
export type {
  EncodeProxyV2Options,
  ProxyAddress,
  ProxyHeader,
  ProxyInfo,
  ProxyOptions,
  ProxyProtocol,
  ProxyTlv,
  ProxyType,
} from "./codecs/proxy.ts";
export { defaultTlsOptions, sniEntry } from "./tls/options.ts";
export type { SniCertificate, TlsMode, TlsOptions } from "./tls/options.ts";
export { detectTls, tlsAutostart, tlsDetect, tlsDetectDecoder } from "./tls/detect.ts";
export type { StartsTls, TlsAutostartType, TlsDetection, TlsDetectType } from "./tls/detect.ts";
