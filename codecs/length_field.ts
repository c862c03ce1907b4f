/**
 * The `lengthField` read and write type: frames whose length is a binary integer at a fixed
 * offset in a header (Netty's `LengthFieldBasedFrameDecoder`, tokio's `LengthDelimitedCodec`):
 * memcached's binary protocol, PostgreSQL's messages, most RPC framings.
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";
import { HandleError } from "../base/errors.ts";
import { type Decoder, NEED_MORE, type NeedMore } from "../base/decoder.ts";
import { DEFAULT_MAX_FRAME_LENGTH, frameLimit } from "./limits.ts";
import type { CodecSettings, ReadType, WriteType } from "../base/codec.ts";

/** Options of {@linkcode lengthField}. */
export interface LengthFieldOptions {
  /**
   * Where the length field starts: how many header bytes come before it.
   *
   * @default {0}
   */
  offset?: number;
  /** How many bytes the length field has: 1, 2, 3, 4 or 8 (an unsigned integer). */
  size: 1 | 2 | 3 | 4 | 8;
  /**
   * The byte order of the length field.
   *
   * @default {"big"}
   */
  endian?: "big" | "little";
  /**
   * Added to the length field's value to get the number of bytes that follow the field
   * (Netty's `lengthAdjustment`): `-4` when the length counts its own 4 bytes, `12` when it
   * leaves out 12 header bytes after it.
   *
   * @default {0}
   */
  adjust?: number;
  /**
   * How many bytes to drop from the front of each frame read (Netty's
   * `initialBytesToStrip`): `offset + size` delivers what follows the header's length field.
   *
   * @default {0}
   */
  strip?: number;
  /**
   * The longest frame delivered (after `strip`), in bytes. A header announcing a longer one
   * fails with a fatal `EMSGSIZE` as soon as it is read, before the rest is buffered. The
   * default is the reading handle's `maxFrameLength` if set, else 1 MiB. Writes check it only
   * when it is given here.
   *
   * @default {1048576}
   */
  maxLength?: number;
  /**
   * The `offset` bytes a write puts before the length field, unless the write gives its own.
   *
   * @default {zeros}
   */
  prefix?: Uint8Array | string;
}

/** What a write gives as the bytes after the length field, or before it: bytes or UTF-8 text. */
export type LengthFieldBytes = Uint8Array | string;

/** The arguments of a write: the body, optionally after the bytes before the length field. */
export type LengthFieldWriteArgs = [body: LengthFieldBytes] | [
  prefix: LengthFieldBytes,
  body: LengthFieldBytes,
];

/**
 * One configured framing, `lengthField({ ... })`: a read type that delivers each frame as an
 * owned `Uint8Array` and a write type that takes the body.
 */
export interface LengthFieldCodec
  extends ReadType<[], Uint8Array, false>, WriteType<LengthFieldWriteArgs> {
  /**
   * The same codec (it takes no arguments to bind).
   *
   * @returns This codec.
   */
  (): LengthFieldCodec;
  /** The options it was made with, checked and with the defaults filled in. */
  readonly options: Readonly<LengthFieldLayout>;
}

/** The checked options of a codec, every default filled in (`maxLength` only if given). */
export interface LengthFieldLayout {
  /** Bytes before the length field. */
  offset: number;
  /** Bytes of the length field. */
  size: 1 | 2 | 3 | 4 | 8;
  /** The length field's byte order. */
  endian: "big" | "little";
  /** Added to the length to get the bytes after the field. */
  adjust: number;
  /** Bytes dropped from the front of a frame read. */
  strip: number;
  /** The limit given, or `undefined` for the handle's default. */
  maxLength: number | undefined;
  /** The bytes a write puts before the length field. */
  prefix: Uint8Array;
}

/**
 * The type of {@linkcode lengthField}: called with options it makes a codec; given by value or
 * by the name `"length_field"` it takes the options as its first argument.
 */
export interface LengthFieldType
  extends
    ReadType<[options: LengthFieldOptions], Uint8Array, false>,
    WriteType<
      [options: LengthFieldOptions, body: LengthFieldBytes] | [
        options: LengthFieldOptions,
        prefix: LengthFieldBytes,
        body: LengthFieldBytes,
      ]
    > {
  /**
   * Makes the codec of one framing, checking the options once.
   *
   * @param options The layout of the header.
   * @returns The codec.
   */
  (options: LengthFieldOptions): LengthFieldCodec;
}

const SIZES = [1, 2, 3, 4, 8];
const KEYS = new Set(["offset", "size", "endian", "adjust", "strip", "maxLength", "prefix"]);
const encoder = new TextEncoder();
/** Above this, an 8-byte field's high 32 bits make the value unsafe (over 2^53 - 1). */
const SAFE_HIGH = 0x1fffff;

function integer(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(`Cannot use lengthField option ${name} ${String(value)}: not a number`);
  }
  if (!Number.isSafeInteger(value) || value < min) {
    const want = min === 0 ? "a non-negative integer" : "an integer";
    throw new RangeError(`Cannot use lengthField option ${name} "${value}": expected ${want}`);
  }
  return value;
}

function toBytes(value: LengthFieldBytes, what: string): Uint8Array {
  if (typeof value === "string") return encoder.encode(value);
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`Cannot write a lengthField ${what}: expected a string or a Uint8Array`);
}

/** Checks the options and fills in the defaults. */
function layoutOf(options: LengthFieldOptions): LengthFieldLayout {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot make a lengthField: expected an options object");
  }
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) throw new TypeError(`Cannot make a lengthField: unknown option "${key}"`);
  }
  const offset = integer("offset", options.offset, 0, 0);
  const size = options.size;
  if (!SIZES.includes(size)) {
    throw new RangeError(`Cannot use lengthField size "${size}": expected 1, 2, 3, 4 or 8`);
  }
  const endian = options.endian ?? "big";
  if (endian !== "big" && endian !== "little") {
    throw new RangeError(`Cannot use lengthField endian "${endian}": expected "big" or "little"`);
  }
  const adjust = integer("adjust", options.adjust, 0, -Number.MAX_SAFE_INTEGER);
  const strip = integer("strip", options.strip, 0, 0);
  const maxLength = options.maxLength === undefined
    ? undefined
    : frameLimit(options.maxLength, DEFAULT_MAX_FRAME_LENGTH);
  const prefix = options.prefix === undefined
    ? new Uint8Array(offset)
    : checkedPrefix(toBytes(options.prefix, "prefix"), offset);
  return { offset, size, endian, adjust, strip, maxLength, prefix };
}

function checkedPrefix(prefix: Uint8Array, offset: number): Uint8Array {
  if (prefix.length !== offset) {
    throw new RangeError(
      `Cannot use a lengthField prefix of ${prefix.length} bytes: offset is ${offset}`,
    );
  }
  return prefix;
}

/** The unsigned length field of the frame at the front of `buf` (its header is buffered). */
function readField(buf: ReadBuffer, l: LengthFieldLayout): number {
  const { offset, size } = l;
  const little = l.endian === "little";
  if (size === 8) {
    const high = word(buf, offset + (little ? 4 : 0), little);
    const low = word(buf, offset + (little ? 0 : 4), little);
    // A length of 2^53 or more cannot be counted exactly, nor ever buffered: too long.
    if (high > SAFE_HIGH) {
      throw new HandleError(
        "EMSGSIZE",
        `Frame length field 0x${high.toString(16).padStart(8, "0")}${
          low.toString(16).padStart(8, "0")
        } exceeds 2^53 - 1 bytes`,
      );
    }
    return high * 0x1_0000_0000 + low;
  }
  let value = 0;
  for (let i = 0; i < size; i++) {
    value = value * 256 + buf.at(offset + (little ? size - 1 - i : i))!;
  }
  return value;
}

function word(buf: ReadBuffer, at: number, little: boolean): number {
  let value = 0;
  for (let i = 0; i < 4; i++) value = value * 256 + buf.at(at + (little ? 3 - i : i))!;
  return value;
}

/**
 * Makes a decoder of frames laid out as `layout` says (see {@linkcode lengthField} for the
 * diagrams). Each attempt reads the header's few bytes again (O(1)); nothing is consumed
 * until the whole frame is buffered.
 *
 * Errors, all fatal and with nothing consumed (a stream whose frame length is wrong cannot be
 * resynchronised), raised as soon as the header is buffered:
 * - `EBADMSG`: the length plus `adjust` is negative, or the frame is shorter than `strip`;
 * - `EMSGSIZE`: the frame to deliver (after `strip`) is over `maxLength`, or the whole frame
 *   is 2^53 bytes or more (an 8-byte field can say so): too long to count exactly in a
 *   JavaScript number, let alone buffer, whatever the limit. It is a frame too long, not a
 *   malformed one, so it is the same error as any frame over the limit.
 *
 * @param layout The checked options (a codec's `options`).
 * @param settings The reading handle's settings (its `maxFrameLength` is the default limit).
 * @returns A decoder of `Uint8Array`.
 * @throws {RangeError} If the layout's `maxLength`, or the handle's, is not a positive integer.
 *
 * @example A 2-byte big-endian length that counts only the body
 * ```ts
 * import { lengthField, lengthFieldDecoder, NEED_MORE, ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const decoder = lengthFieldDecoder(lengthField({ size: 2 }).options);
 * const buf = new ReadBuffer();
 * buf.append(new Uint8Array([0x00, 0x02, 0x68]));
 * assert.equal(decoder.decode(buf), NEED_MORE);
 * buf.append(new Uint8Array([0x69, 0xff]));
 * assert.deepEqual(decoder.decode(buf), new Uint8Array([0x00, 0x02, 0x68, 0x69]));
 * assert.equal(buf.length, 1);
 * ```
 */
export function lengthFieldDecoder(
  layout: Readonly<LengthFieldLayout>,
  settings?: CodecSettings,
): Decoder<Uint8Array> {
  const maxLength = frameLimit(layout.maxLength, DEFAULT_MAX_FRAME_LENGTH, settings);
  const headerEnd = layout.offset + layout.size;
  const { adjust, strip } = layout;

  /** The whole frame's length, header included, once its header is buffered. */
  function frameLength(buf: ReadBuffer): number {
    const field = readField(buf, layout);
    const after = field + adjust;
    if (after < 0) {
      throw new HandleError(
        "EBADMSG",
        `Frame length field ${field} with adjust ${adjust} leaves ${after} bytes after it`,
      );
    }
    const total = headerEnd + after;
    if (total < strip) {
      throw new HandleError("EBADMSG", `Frame of ${total} bytes is shorter than strip (${strip})`);
    }
    if (!Number.isSafeInteger(total)) {
      throw new HandleError("EMSGSIZE", `Frame of more than 2^53 - 1 bytes (field ${field})`);
    }
    const delivered = total - strip;
    if (delivered > maxLength) {
      throw new HandleError(
        "EMSGSIZE",
        `Frame of ${delivered} bytes exceeds maxLength of ${maxLength} bytes`,
      );
    }
    return total;
  }

  return {
    decode(buf: ReadBuffer): Uint8Array | NeedMore {
      if (buf.length < headerEnd) return NEED_MORE;
      const total = frameLength(buf);
      if (buf.length < total) return NEED_MORE;
      if (strip > 0) buf.consume(strip);
      return buf.take(total - strip);
    },
    // A large frame is then read into an array of its own, which `take` hands over without a
    // copy; only when nothing is stripped, or the array would be copied anyway.
    readHint: strip > 0
      ? undefined
      : (buf: ReadBuffer) => buf.length < headerEnd ? 0 : frameLength(buf) - buf.length,
  };
}

/**
 * Encodes one frame: `prefix` (the layout's, or zeros), the length field, then `body`. The
 * field holds `body.length - adjust`, so a reader with the same layout and `strip: offset +
 * size` gets `body` back.
 *
 * @param layout The checked options (a codec's `options`).
 * @param body The bytes after the length field (a string is UTF-8).
 * @param prefix The `offset` bytes before the length field; the layout's `prefix` if omitted.
 * @returns The frame.
 * @throws {TypeError} If `body` or `prefix` is neither a string nor a `Uint8Array`.
 * @throws {RangeError} If `prefix` is not `offset` bytes long, or `body` is shorter than
 * `adjust` (the field would be negative).
 * @throws {HandleError} `EMSGSIZE` (not fatal: nothing was queued) if the length does not fit
 * the field (over 255 for size 1, ...) or the frame is over a `maxLength` given in the layout.
 *
 * @example A PostgreSQL Query message: type byte, then a length that counts itself
 * ```ts
 * import { encodeLengthField, lengthField } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const message = lengthField({ offset: 1, size: 4, adjust: -4 });
 * assert.deepEqual(
 *   encodeLengthField(message.options, "x\0", "Q"),
 *   new Uint8Array([0x51, 0, 0, 0, 6, 0x78, 0]),
 * );
 * ```
 */
export function encodeLengthField(
  layout: Readonly<LengthFieldLayout>,
  body: LengthFieldBytes,
  prefix?: LengthFieldBytes,
): Uint8Array {
  const bytes = toBytes(body, "body");
  const before = prefix === undefined
    ? layout.prefix
    : checkedPrefix(toBytes(prefix, "prefix"), layout.offset);
  const { offset, size, adjust, strip } = layout;
  const field = bytes.length - adjust;
  if (field < 0) {
    throw new RangeError(
      `Cannot write a lengthField body of ${bytes.length} bytes with adjust ${adjust}: the length would be ${field}`,
    );
  }
  if (size < 8 && field >= 2 ** (size * 8)) {
    throw new HandleError(
      "EMSGSIZE",
      `Cannot write a length of ${field} in ${size} byte(s): at most ${2 ** (size * 8) - 1}`,
      { fatal: false },
    );
  }
  const headerEnd = offset + size;
  const frame = new Uint8Array(headerEnd + bytes.length);
  const delivered = frame.length - strip;
  if (layout.maxLength !== undefined && delivered > layout.maxLength) {
    throw new HandleError(
      "EMSGSIZE",
      `Cannot write a frame of ${delivered} bytes: over maxLength of ${layout.maxLength} bytes`,
      { fatal: false },
    );
  }
  frame.set(before);
  const little = layout.endian === "little";
  let v = field;
  for (let i = 0; i < size; i++) {
    frame[offset + (little ? i : size - 1 - i)] = v % 256;
    v = Math.floor(v / 256);
  }
  frame.set(bytes, headerEnd);
  return frame;
}

/** The codec of one checked layout. */
function codecOf(layout: Readonly<LengthFieldLayout>): LengthFieldCodec {
  const codec = (() => codec) as unknown as LengthFieldCodec;
  return Object.freeze(Object.assign(codec, {
    typeName: "length_field",
    decoder: (settings: CodecSettings) => lengthFieldDecoder(layout, settings),
    spread: false as const,
    act: undefined,
    encoder: (_settings: CodecSettings, ...args: LengthFieldWriteArgs) =>
      args.length === 1
        ? encodeLengthField(layout, args[0])
        : encodeLengthField(layout, args[1], args[0]),
    options: layout,
  }));
}

/**
 * The `lengthField` read and write type: frames whose header holds their length as a 1-, 2-,
 * 3-, 4- or 8-byte unsigned integer, big- or little-endian, at `offset`.
 * `lengthField({ ... })` checks the options once and gives the codec:
 * `h.pushRead(codec, (h, frame) => ...)`, `await h.read(codec)`, `h.pushWrite(codec, body)` or
 * `h.pushWrite(codec, prefix, body)`. Given unconfigured (or as AnyEvent-style name
 * `"length_field"`) it takes the options as its first argument:
 * `h.pushRead("length_field", { size: 2 }, cb)`.
 *
 * The length field's value plus `adjust` is the number of bytes after the field; the frame
 * (header included) minus its first `strip` bytes is delivered. The layouts of Netty's
 * `LengthFieldBasedFrameDecoder` documentation, as options:
 *
 * ```text
 * { size: 2 }: the length counts the body; the frame is delivered whole (14 bytes)
 * +--------+----------------+
 * | 00 0C  | "HELLO, WORLD" |
 * +--------+----------------+
 *
 * { size: 2, strip: 2 }: the same bytes, the 12-byte body delivered
 * +--------+----------------+        +----------------+
 * | 00 0C  | "HELLO, WORLD" |   ->   | "HELLO, WORLD" |
 * +--------+----------------+        +----------------+
 *
 * { size: 2, adjust: -2 }: the length counts itself too (14 bytes delivered)
 * +--------+----------------+
 * | 00 0E  | "HELLO, WORLD" |
 * +--------+----------------+
 *
 * { offset: 2, size: 3, endian: "little" }: 2 bytes before a 3-byte little-endian length
 * +-------+----------+----------------+
 * | CA FE | 0C 00 00 | "HELLO, WORLD" |
 * +-------+----------+----------------+
 *
 * { offset: 8, size: 4, adjust: 12 }: memcached's binary protocol (24-byte header)
 * +-------+----+--------+-----+----+--------+------------+--------+-----+------------------+
 * | magic | op | keylen | ext | dt | status | total body | opaque | cas | extras key value |
 * | 1     | 1  | 2      | 1   | 1  | 2      | 4: field   | 4      | 8   | total body bytes |
 * +-------+----+--------+-----+----+--------+------------+--------+-----+------------------+
 *   the 12 bytes of opaque and cas follow the field but are not counted: adjust 12
 * ```
 *
 * Each attempt reads the header again (O(1)); a frame is delivered once whole, with at most
 * `strip + maxLength` bytes waited for. Errors are fatal and consume nothing: `EMSGSIZE` for a
 * frame over `maxLength` (or an 8-byte length of 2^53 or more), `EBADMSG` for a length that is
 * negative after `adjust` or a frame shorter than `strip`, as soon as the header is read.
 *
 * @example A 2-byte length prefix, read and written over a socket
 * ```ts
 * import { Handle, lengthField } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const framed = lengthField({ size: 2, strip: 2 });
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepted = listener.accept();
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * const peer = new Handle(await accepted);
 * h.pushWrite(framed, "HELLO, WORLD");
 * assert.equal(new TextDecoder().decode(await peer.read(framed)), "HELLO, WORLD");
 * h.destroy();
 * peer.destroy();
 * listener.close();
 * ```
 *
 * @example Bad options throw at once
 * ```ts
 * import { lengthField } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => lengthField({ size: 5 as 4 }), RangeError);
 * assert.throws(() => lengthField({ size: 4, strip: -1 }), RangeError);
 * assert.throws(() => lengthField({ size: 4, offset: 2, prefix: "abc" }), RangeError);
 * ```
 */
export const lengthField: LengthFieldType = Object.freeze(Object.assign(
  (options: LengthFieldOptions) => codecOf(layoutOf(options)),
  {
    typeName: "length_field",
    decoder: (settings: CodecSettings, options: LengthFieldOptions) =>
      lengthFieldDecoder(layoutOf(options), settings),
    spread: false as const,
    act: undefined,
    encoder: (
      _settings: CodecSettings,
      options: LengthFieldOptions,
      ...args: LengthFieldWriteArgs
    ) => {
      const layout = layoutOf(options);
      return args.length === 1
        ? encodeLengthField(layout, args[0])
        : encodeLengthField(layout, args[1], args[0]);
    },
  },
)) as LengthFieldType;
