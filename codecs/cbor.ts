/**
 * The `cbor` read and write types (RFC 8949), wire-compatible with AnyEvent::Handle's `cbor`
 * types over CBOR::XS: one CBOR data item per read, back to back with no other framing.
 *
 * An optional module, not imported by `mod.ts` (the core has no runtime dependency): its
 * `cbor` value is the read and write type, typed by itself.
 *
 * ```ts ignore
 * import { cbor } from "@anyevent/handle/cbor";
 *
 * h.pushWrite(cbor, ["method", { arg: 1 }]);
 * const reply = await h.read(cbor);
 * for await (const value of h.iterate(cbor)) {}
 * ```
 *
 * AnyEvent's name works once the application gives it: `registerReadType(cbor)` and
 * `registerWriteType(cbor)` make `h.read("cbor")` work (an import never registers anything).
 *
 * The framing is this module's own: a linear, resumable scan of the item's headers finds
 * where it ends (nothing is decoded before the whole item is buffered, and a declared length
 * over `maxLength` fails at once). The values are decoded and encoded by the npm library
 * `cborg`, pinned in `deno.json`.
 *
 * @example Reading a CBOR value from a peer
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import { cbor, encodeCbor } from "@anyevent/handle/cbor";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const peer = listener.accept().then(async (conn) => {
 *   await conn.write(encodeCbor(["hello", { n: 1 }]));
 *   conn.close();
 * });
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * assert.deepEqual(await h.read(cbor), ["hello", { n: 1 }]);
 * h.destroy();
 * await peer;
 * listener.close();
 * ```
 *
 * @module
 */
import { decode, encode, objectToTokens, Token, Type } from "cborg";
import type { DecodeOptions, EncodeOptions, TagDecoder, TypeEncoder } from "cborg";
import { bigIntDecoder, bigIntEncoder, bigNegIntDecoder, mapDecoder } from "cborg/taglib";
import type { ReadBuffer } from "../base/buffer.ts";
import { HandleError } from "../base/errors.ts";
import { type Decoder, NEED_MORE, type NeedMore } from "../base/decoder.ts";
import { DEFAULT_MAX_FRAME_LENGTH, frameLimit } from "./limits.ts";
import {
  type CodecSettings,
  defineCodec,
  defineReadType,
  type ReadType,
  type WriteType,
} from "../base/codec.ts";
import { CborScanner } from "./_cbor_scan.ts";
import {
  decodeEpochDate,
  decodeTextDate,
  encodeDate,
  TAG_DATE_EPOCH,
  TAG_DATE_TEXT,
} from "./_cbor_time.ts";
import type {
  CborDecodeOptions,
  CborOptions,
  CborTagContent,
  CborTagDecoder,
} from "./_cbor_types.ts";

export type { CborDecodeOptions, CborOptions, CborTagContent, CborTagDecoder };

/**
 * The default `maxDepth` of the `cbor` read type: 512 nested arrays, maps and tags, as
 * CBOR::XS's `max_depth`.
 *
 * @example One level too deep
 * ```ts
 * import { HandleError, ReadBuffer } from "@anyevent/handle";
 * import { cborDecoder, DEFAULT_MAX_CBOR_DEPTH } from "@anyevent/handle/cbor";
 * import assert from "node:assert/strict";
 *
 * const deep = new Uint8Array(DEFAULT_MAX_CBOR_DEPTH + 2).fill(0x81); // [[[...[0]...]]]
 * deep[deep.length - 1] = 0x00;
 * const buf = new ReadBuffer();
 * buf.append(deep);
 * assert.throws(
 *   () => cborDecoder().decode(buf),
 *   (e) => e instanceof HandleError && e.code === "EMSGSIZE" && e.fatal,
 * );
 * ```
 */
export const DEFAULT_MAX_CBOR_DEPTH = 512;

/**
 * A tagged CBOR value whose tag has no decoder: the tag number and the decoded content.
 * {@linkcode encodeCbor} writes it as that tag around that content, so unknown tags survive a
 * round trip (as CBOR::XS's `CBOR::XS::Tagged` does).
 *
 * @example Keeping an unknown tag
 * ```ts
 * import { ReadBuffer } from "@anyevent/handle";
 * import { cborDecoder, CborTagged, encodeCbor } from "@anyevent/handle/cbor";
 * import assert from "node:assert/strict";
 *
 * const wire = encodeCbor(new CborTagged(1000, "x")); // d9 03e8 61 78
 * assert.deepEqual(wire, new Uint8Array([0xd9, 0x03, 0xe8, 0x61, 0x78]));
 * const buf = new ReadBuffer();
 * buf.append(wire);
 * assert.deepEqual(cborDecoder().decode(buf), new CborTagged(1000, "x"));
 * ```
 */
export class CborTagged {
  /** The tag number. */
  readonly tag: number;
  /** The tagged content. */
  readonly value: unknown;

  /**
   * Makes a tagged value.
   *
   * @param tag The tag number, a non-negative safe integer.
   * @param value The content.
   * @throws {RangeError} If the tag number is not a non-negative safe integer.
   */
  constructor(tag: number, value: unknown) {
    if (!Number.isSafeInteger(tag) || tag < 0) {
      throw new RangeError(`Cannot make a CBOR tag "${tag}": expected a non-negative integer`);
    }
    this.tag = tag;
    this.value = value;
  }
}

/**
 * A decoder of CBOR items, as {@linkcode cborDecoder} makes.
 *
 * @example A string arriving in pieces costs one header read
 * ```ts
 * import { NEED_MORE, ReadBuffer } from "@anyevent/handle";
 * import { cborDecoder } from "@anyevent/handle/cbor";
 * import assert from "node:assert/strict";
 *
 * const cbor = cborDecoder();
 * const buf = new ReadBuffer();
 * buf.append(new Uint8Array([0x59, 0x10, 0x00])); // a byte string of 4096 bytes follows
 * for (let i = 0; i < 4; i++) {
 *   assert.equal(cbor.decode(buf), NEED_MORE);
 *   buf.append(new Uint8Array(1024));
 * }
 * assert.deepEqual(cbor.decode(buf), new Uint8Array(4096));
 * assert.equal(cbor.bytesExamined, 3); // the header, read once
 * ```
 */
export interface CborDecoder extends Decoder<unknown> {
  /**
   * How many header bytes the framing scan has read in total: evidence that the scan is
   * linear. String payloads are skipped unread, and a header byte is read once, except the
   * first byte of a header cut short by the end of the buffered bytes, read again at the
   * next attempt.
   */
  readonly bytesExamined: number;
}

const DEFAULT_TAGS: Readonly<Record<number, TagDecoder>> = {
  [TAG_DATE_TEXT]: decodeTextDate,
  [TAG_DATE_EPOCH]: decodeEpochDate,
  2: bigIntDecoder,
  3: bigNegIntDecoder,
};
const TAG_MAP = 259;

function preserve(tag: number): TagDecoder {
  return (content) => new CborTagged(tag, content());
}

const encodeTagged: TypeEncoder = (obj, _type, options, refStack) =>
  obj instanceof CborTagged
    ? [new Token(Type.tag, obj.tag), objectToTokens(obj.value, options, refStack)]
    : null;

const ENCODE_OPTIONS: EncodeOptions = {
  typeEncoders: { bigint: bigIntEncoder, Object: encodeTagged, Date: encodeDate },
};

function depthLimit(maxDepth: number | undefined): number {
  const value = maxDepth ?? DEFAULT_MAX_CBOR_DEPTH;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot use maxDepth "${value}": expected a non-negative integer`);
  }
  return value;
}

function tagTable(
  tags: Readonly<Record<number, CborTagDecoder>> = {},
): Record<number, TagDecoder> {
  const table: Record<number, TagDecoder> = { ...DEFAULT_TAGS };
  for (const [key, decoder] of Object.entries(tags)) {
    const tag = Number(key);
    if (tag === TAG_MAP) {
      throw new RangeError(
        `Cannot use a decoder for tag ${TAG_MAP}: it decodes maps with non-string keys`,
      );
    }
    if (typeof decoder !== "function") {
      throw new TypeError(`Cannot use the decoder for tag ${key}: expected a function`);
    }
    table[tag] = decoder;
  }
  table[TAG_MAP] = mapDecoder;
  return table;
}

/**
 * Makes a decoder of one CBOR data item (RFC 8949), delivered as its JavaScript value.
 *
 * ```text
 * +---------+---------+------------------------+-------------------------------------+
 * | major   | info    | argument               | then                                |
 * | (3 bit) | (5 bit) | (0, 1, 2, 4, 8 bytes)  |                                     |
 * +---------+---------+------------------------+-------------------------------------+
 * | 0, 1    | < 24: the argument itself;       | nothing (integer n, or -1-n)        |
 * | 2, 3    | 24..27: 1, 2, 4, 8 bytes follow; | n bytes (bytes, UTF-8 text)         |
 * | 4, 5    | 31: indefinite length, items     | n items (array), 2n items (map)     |
 * | 6       | until a 0xff break (2..5 only)   | one item (tag n)                    |
 * | 7       |                                  | false true null undefined, floats   |
 * +---------+----------------------------------+-------------------------------------+
 * ```
 *
 * Values: integers are numbers (`bigint` beyond 2^53); floats 16, 32 and 64 are numbers;
 * byte strings are owned `Uint8Array`s; text strings are strings; arrays are arrays; maps are
 * plain objects, or `Map`s when a key is not a string (see `byteKeys` and `useMaps`); tag 1
 * (epoch seconds) and tag 0 (RFC 3339 text) are `Date`s, rounded to the millisecond (as
 * CBOR::XS makes both `Time::Piece`s); other tags go through `tags`, else they are
 * {@linkcode CborTagged}; `false`, `true`, `null` and `undefined` are themselves. Indefinite-length strings, arrays and maps decode like definite ones.
 *
 * Cost: the scan keeps its state (position, one frame per open container) across attempts,
 * tied to the item's absolute position (`buf.consumedTotal`), so each header byte is read
 * once however the item arrives, and string payloads are skipped unread: a 10 MB string in
 * 1 KiB reads costs one header and O(1) per read. Once the item is buffered cborg decodes it
 * once (copied first only when an indefinite string, a byte-string key or a map with a
 * non-string key has to be rewritten). Memory: at most `maxLength` bytes are waited for, and
 * at most `maxDepth` + 1 frames are kept.
 *
 * Errors, following AnyEvent::Handle where the stream can go on:
 *
 * - an item that is well framed but that cborg rejects (a simple value other than `false`,
 *   `true`, `null`, `undefined`; a tag decoder that throws, such as tag 1 around a string or
 *   tag 0 around text that is not RFC 3339; what `decodeOptions` forbids) is
 *   a non-fatal `EBADMSG`, and the item is consumed first (skipped), so the next read starts
 *   after it;
 * - a header that is not well-formed (additional information 28 to 30; an indefinite length
 *   on an integer or a tag; a break outside an indefinite-length item or after a map key; a
 *   chunk of an indefinite string that is not a definite string of its type) is a fatal
 *   `EBADMSG` with nothing consumed: where the item ends is then unknown, so the stream
 *   cannot be resynchronised (AnyEvent's CBOR::XS reports it and resets, losing its place
 *   just the same);
 * - an item over `maxLength` or nested deeper than `maxDepth` is a fatal `EMSGSIZE`, nothing
 *   consumed. An item cut short by end of input is the handle's `EPIPE`.
 *
 * @param options Limits, key handling, tag decoders and cborg options.
 * @param settings The reading handle's settings (its `maxFrameLength` is the default limit).
 * @returns A decoder of the value.
 * @throws {RangeError} For a bad `maxLength` or `maxDepth`, or a decoder for tag 259.
 * @throws {TypeError} For a tag decoder that is not a function.
 *
 * @example Items back to back, and byte-string keys from a Perl peer
 * ```ts
 * import { ReadBuffer } from "@anyevent/handle";
 * import { cborDecoder } from "@anyevent/handle/cbor";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * // [1, "a"], then {h'78': 1} (CBOR::XS's {x => 1}), then {1: "one"}
 * buf.append(new Uint8Array([0x82, 0x01, 0x61, 0x61, 0xa1, 0x41, 0x78, 0x01, 0xa1, 0x01, 0x63]));
 * buf.append(new TextEncoder().encode("one"));
 * const cbor = cborDecoder();
 * assert.deepEqual(cbor.decode(buf), [1, "a"]);
 * assert.deepEqual(cbor.decode(buf), { x: 1 });
 * assert.deepEqual(cbor.decode(buf), new Map([[1, "one"]]));
 * assert.equal(buf.length, 0);
 * ```
 *
 * @example A declared length over maxLength fails before the payload arrives
 * ```ts
 * import { HandleError, ReadBuffer } from "@anyevent/handle";
 * import { cborDecoder } from "@anyevent/handle/cbor";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new Uint8Array([0x5a, 0x00, 0x10, 0x00, 0x00])); // a 1 MiB byte string follows
 * assert.throws(
 *   () => cborDecoder({ maxLength: 1024 }).decode(buf),
 *   (e) => e instanceof HandleError && e.code === "EMSGSIZE" && e.fatal,
 * );
 * assert.equal(buf.length, 5); // nothing consumed
 * ```
 */
export function cborDecoder(options: CborOptions = {}, settings?: CodecSettings): CborDecoder {
  const maxLength = frameLimit(options.maxLength, DEFAULT_MAX_FRAME_LENGTH, settings);
  const maxDepth = depthLimit(options.maxDepth);
  const byteKeys = options.byteKeys ?? "text";
  if (byteKeys !== "text" && byteKeys !== "bytes") {
    throw new TypeError(`Cannot use byteKeys "${byteKeys}": expected "text" or "bytes"`);
  }
  const useMaps = options.useMaps ?? false;
  const tags = tagTable(options.tags);
  const cborgOptions: DecodeOptions = {
    ...options.decodeOptions,
    tokenizer: undefined,
    useMaps,
    tags,
  };
  const scanner = new CborScanner({
    maxLength,
    maxDepth,
    byteKeysText: byteKeys === "text",
    useMaps,
    knownTag: (tag) => typeof tags[tag] === "function",
  });
  let itemAt = -1; // absolute position of the item the scan state belongs to
  let generation = 0;

  function done(buf: ReadBuffer, end: number): void {
    buf.consume(end);
    scanner.reset();
    itemAt = -1;
  }

  return {
    get bytesExamined(): number {
      return scanner.bytesExamined;
    },
    decode(buf: ReadBuffer): unknown | NeedMore {
      if (itemAt !== buf.consumedTotal || generation !== buf.generation) {
        scanner.reset();
        itemAt = buf.consumedTotal;
        generation = buf.generation;
      }
      const end = scanner.scan(buf.bytes());
      if (end < 0 || end > buf.length) return NEED_MORE;
      const unknown = scanner.unknownTags;
      let opts = cborgOptions;
      if (unknown.size > 0) {
        // Unknown tags are kept as Tagged: a table per item, bounded by the item's size.
        const withUnknown: Record<number, TagDecoder> = Object.create(tags);
        for (const tag of unknown) withUnknown[tag] = preserve(tag);
        opts = { ...cborgOptions, tags: withUnknown };
      }
      let value: unknown;
      try {
        value = decode(scanner.rewrite(buf.view(0, end)), opts);
      } catch (e) {
        done(buf, end);
        const why = e instanceof Error ? e.message : String(e);
        throw new HandleError("EBADMSG", `Invalid CBOR item of ${end} bytes skipped: ${why}`, {
          fatal: false,
          cause: e,
        });
      }
      done(buf, end);
      return value;
    },
  };
}

/**
 * Encodes a value as one CBOR data item, with cborg's deterministic encoding: integers and
 * floats in their shortest form, definite lengths, map keys sorted (length first, then
 * bytewise). Strings become text strings (CBOR::XS decodes them to character strings),
 * `Uint8Array`s byte strings (other typed arrays their bytes), arrays arrays, plain objects
 * and `Map`s maps, `bigint`s integers (tag 2 or 3 beyond 64 bits), a {@linkcode CborTagged} its tag;
 * a `Date` tag 1 around its seconds since the epoch, an integer when it is whole seconds and
 * a float otherwise (`1363896240` is `c1 1a 514b67b0`; CBOR::XS reads it as a `Time::Piece`);
 * `false`, `true`, `null` and `undefined` themselves. No framing is added: CBOR items delimit
 * themselves.
 *
 * @param value The value.
 * @returns Its CBOR encoding, owned by the caller.
 * @throws {TypeError} If the value has no CBOR form (a function, a symbol, a cycle, an invalid
 * `Date`).
 *
 * @example Encoding a value
 * ```ts
 * import { encodeCbor } from "@anyevent/handle/cbor";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(encodeCbor([1, "a", true]), new Uint8Array([0x83, 0x01, 0x61, 0x61, 0xf5]));
 * assert.deepEqual(encodeCbor({ x: null }), new Uint8Array([0xa1, 0x61, 0x78, 0xf6]));
 * assert.throws(() => encodeCbor(() => 1), TypeError);
 * ```
 *
 * @example A Date is tag 1: whole seconds an integer, finer a float
 * ```ts
 * import { encodeCbor } from "@anyevent/handle/cbor";
 * import assert from "node:assert/strict";
 *
 * const date = new Date("2013-03-21T20:04:00Z");
 * assert.deepEqual(encodeCbor(date), new Uint8Array([0xc1, 0x1a, 0x51, 0x4b, 0x67, 0xb0]));
 * assert.deepEqual(encodeCbor(new Date(1500)), new Uint8Array([0xc1, 0xf9, 0x3e, 0x00])); // 1.5
 * ```
 */
export function encodeCbor(value: unknown): Uint8Array {
  try {
    return encode(value, ENCODE_OPTIONS);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new TypeError(`Cannot encode the value as CBOR: ${why}`, { cause: e });
  }
}

/** The type of {@linkcode cbor}. */
export type CborType =
  & ReadType<[] | [options: CborOptions], unknown, false>
  & WriteType<[value: unknown]>;

/**
 * The `cbor` read and write type: `h.pushRead(cbor, [options,] (h, value) => ...)` reads one
 * CBOR data item (see {@linkcode cborDecoder}); `h.pushWrite(cbor, value)` writes one.
 *
 * @example A CBOR round trip
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import { cbor } from "@anyevent/handle/cbor";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepted = listener.accept();
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * const peer = new Handle(await accepted);
 * h.pushWrite(cbor, { n: 1, list: [true, null] });
 * assert.deepEqual(await peer.read(cbor), { n: 1, list: [true, null] });
 * h.destroy();
 * peer.destroy();
 * listener.close();
 * ```
 */
export const cbor: CborType = defineCodec(
  defineReadType(
    "cbor",
    (settings, options?: CborOptions) => cborDecoder(options, settings),
    { maxArgs: 1 },
  ),
  (_settings, value: unknown) => encodeCbor(value),
  { maxArgs: 1 },
);
