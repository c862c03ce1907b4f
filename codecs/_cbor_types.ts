/**
 * The option types of the `cbor` read type (its options, tag decoders), in a module of types
 * only. `cbor.ts` re-exports them.
 *
 * @module
 */

/**
 * Options for {@linkcode cborDecoder}.
 *
 * @example How a byte-string key from a Perl peer decodes
 * ```ts
 * import { ReadBuffer } from "@anyevent/handle";
 * import { cborDecoder, type CborOptions } from "@anyevent/handle/cbor";
 * import assert from "node:assert/strict";
 *
 * const wire = new Uint8Array([0xa1, 0x41, 0x78, 0x01]); // {h'78': 1}: CBOR::XS's {x => 1}
 * function decodeWith(options: CborOptions): unknown {
 *   const buf = new ReadBuffer();
 *   buf.append(wire);
 *   return cborDecoder(options).decode(buf);
 * }
 * assert.deepEqual(decodeWith({}), { x: 1 });
 * assert.deepEqual(decodeWith({ byteKeys: "bytes" }), new Map([[new Uint8Array([0x78]), 1]]));
 * assert.deepEqual(decodeWith({ useMaps: true }), new Map([["x", 1]]));
 * ```
 */
export interface CborOptions {
  /**
   * The longest item accepted, in encoded bytes. Longer fails with a fatal `EMSGSIZE` as soon
   * as it is certain: when a header declares a string, or a count of items, that cannot end
   * within the limit (before its payload is buffered), or when the bytes scanned pass it;
   * nothing is consumed. The default is the handle's `maxFrameLength` if set, else 1 MiB.
   *
   * @default {1048576}
   */
  maxLength?: number;
  /**
   * The deepest nesting of arrays, maps and tags accepted (0: only scalars and strings).
   * Deeper fails with a fatal `EMSGSIZE` when the scan reaches it; nothing is consumed. It
   * also keeps cborg's recursive decoder far from the call stack's limit.
   *
   * @default {512}
   */
  maxDepth?: number;
  /**
   * How a map key that is a CBOR *byte* string decodes.
   *
   * - `"text"`: a byte-string key whose bytes are valid UTF-8 becomes a string key, exactly
   *   as if the peer had sent a text string. CBOR::XS, and so AnyEvent::Handle's default
   *   coder, sends every Perl string lacking the UTF-8 flag as a byte string, hash keys
   *   included: a Perl peer answering `{ x => 1 }` sends the key as bytes `78`, and this
   *   gives `{ x: 1 }`. A key that is not valid UTF-8 (a Latin-1 `"ü"` from Perl is the
   *   single byte `fc`) stays a `Uint8Array`, so its map decodes to a `Map` (see `useMaps`).
   *   A map that holds the same key both as bytes and as text keeps the later value.
   * - `"bytes"`: byte-string keys stay `Uint8Array`s, and their maps decode to `Map`s.
   *
   * Byte strings that are values, not keys, are always `Uint8Array`s: the peer's text and
   * bytes stay apart (a Perl peer with `CBOR::XS->new->text_strings` sends text).
   *
   * @default {"text"}
   */
  byteKeys?: "text" | "bytes";
  /**
   * Whether every map decodes to a `Map`. By default a map whose keys are all strings (after
   * `byteKeys`) decodes to a plain object, and any other map (integer, array or map keys, or
   * byte keys kept as bytes) to a `Map`, so no key is lost or turned into a string.
   *
   * @default {false}
   */
  useMaps?: boolean;
  /**
   * Decoders for tag numbers (cborg's `tags` decode option; see {@linkcode CborTagDecoder}),
   * added to the defaults, which they may replace: 0 (RFC 3339 text) and 1 (epoch seconds)
   * decode to `Date`; 2 and 3 (bignums) decode to `bigint`; 259 (a map with any keys)
   * to a `Map`, which is fixed, since it is how maps with non-string keys are decoded. A tag
   * with no decoder decodes to a {@linkcode CborTagged} `{ tag, value }`, which `encodeCbor`
   * writes back unchanged. A decoder that throws makes the item a non-fatal `EBADMSG`
   * (skipped).
   *
   * @default {{}}
   */
  tags?: Readonly<Record<number, CborTagDecoder>>;
  /**
   * Stricter decoding, passed to cborg (see {@linkcode CborDecodeOptions}). An item they
   * reject is a non-fatal `EBADMSG`, skipped.
   *
   * @default {{}}
   */
  decodeOptions?: Readonly<CborDecodeOptions>;
}

/**
 * cborg's decode options that {@linkcode CborOptions} passes through (cborg's defaults
 * apply: everything allowed, nothing strict).
 *
 * @example Strict decoding skips an integer not in its shortest form
 * ```ts
 * import { HandleError, ReadBuffer } from "@anyevent/handle";
 * import { cborDecoder } from "@anyevent/handle/cbor";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new Uint8Array([0x18, 0x01, 0x02])); // 1 in two bytes, then 2
 * const cbor = cborDecoder({ decodeOptions: { strict: true } });
 * assert.throws(
 *   () => cbor.decode(buf),
 *   (e) => e instanceof HandleError && e.code === "EBADMSG" && !e.fatal,
 * );
 * assert.equal(cbor.decode(buf), 2); // the bad item was skipped
 * ```
 */
export interface CborDecodeOptions {
  /** Reject integers and lengths not in their shortest form. @default {false} */
  strict?: boolean;
  /** Reject a map that has the same key twice. @default {false} */
  rejectDuplicateMapKeys?: boolean;
  /** Accept `undefined` (simple value 23). @default {true} */
  allowUndefined?: boolean;
  /** Decode `undefined` as `null` (with `allowUndefined`). @default {false} */
  coerceUndefinedToNull?: boolean;
  /** Accept NaN floats. @default {true} */
  allowNaN?: boolean;
  /** Accept infinite floats. @default {true} */
  allowInfinity?: boolean;
  /** Accept integers beyond 2^53, decoded as `bigint`. @default {true} */
  allowBigInt?: boolean;
  /**
   * Accept indefinite-length arrays and maps. Indefinite-length strings are always accepted:
   * they are made definite before cborg sees them.
   *
   * @default {true}
   */
  allowIndefinite?: boolean;
}

/**
 * What a tag decoder is given: call it once for the tagged content, decoded; or call
 * `entries()` instead, for content that is a map, to get its `[key, value]` pairs with the
 * keys as they are (cborg's `TagDecodeControl`).
 */
export interface CborTagContent {
  /** Decodes the tagged content. */
  (): unknown;
  /** Decodes the tagged content, which must be a map, as `[key, value]` pairs. */
  entries(): [unknown, unknown][];
}

/**
 * Decodes the content of one tag number into a value (see `CborOptions.tags`).
 *
 * @example Decoding tag 32 (a URI) to a URL
 * ```ts
 * import { ReadBuffer } from "@anyevent/handle";
 * import { cborDecoder, type CborTagDecoder } from "@anyevent/handle/cbor";
 * import assert from "node:assert/strict";
 *
 * const uri: CborTagDecoder = (content) => new URL(content() as string);
 * const buf = new ReadBuffer();
 * buf.append(new Uint8Array([0xd8, 0x20, 0x72, ...new TextEncoder().encode("https://a.example/")]));
 * assert.deepEqual(cborDecoder({ tags: { 32: uri } }).decode(buf), new URL("https://a.example/"));
 * ```
 *
 * @example Keeping tag 1 as it is instead of a Date
 * ```ts
 * import { ReadBuffer } from "@anyevent/handle";
 * import { cborDecoder, CborTagged } from "@anyevent/handle/cbor";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new Uint8Array([0xc1, 0x1a, 0x51, 0x4b, 0x67, 0xb0])); // 1(1363896240)
 * const raw = cborDecoder({ tags: { 1: (content) => new CborTagged(1, content()) } });
 * assert.deepEqual(raw.decode(buf), new CborTagged(1, 1363896240));
 * ```
 */
export type CborTagDecoder = (content: CborTagContent) => unknown;
