/**
 * The contract between codecs and the handle: read types and write types are values. A codec
 * module exports them (`line`, `netstring`, ...), a handle takes them (`h.pushRead(line, cb)`,
 * `h.pushWrite(netstring, bytes)`), and the argument and callback types follow from the value,
 * for built-in and third-party codecs alike. Nothing here is global: a read type makes its
 * decoder from the settings of the handle that asks.
 *
 * What it owns: {@linkcode ReadType}, {@linkcode WriteType}, {@linkcode CodecSettings} and the
 * helpers that make them. What it may not touch: any codec, TLS, and the handle.
 *
 * @module
 */
import type { Decoder } from "./decoder.ts";

/** A JSON coder: what the `json` read and write types parse and stringify with. */
export interface JsonCoder {
  /** Parses one JSON text (`JSON.parse`, or one with a reviver or big-integer support). */
  parse(text: string): unknown;
  /** Turns a value into JSON text. */
  stringify(value: unknown): string;
}

/**
 * What a handle tells the codecs it uses: its `maxFrameLength` and `json` options. A read
 * type's decoder factory and a write type's encoder receive them as their first argument.
 */
export interface CodecSettings {
  /** The default `maxLength` of every framing. */
  readonly maxFrameLength?: number;
  /** The JSON coder of the `json` types. */
  readonly json?: JsonCoder;
}

/**
 * The settings of a handle that sets none.
 *
 * @example Making a decoder outside a handle
 * ```ts
 * import { line, NO_CODEC_SETTINGS, ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const decoder = line.decoder(NO_CODEC_SETTINGS);
 * const buf = new ReadBuffer();
 * buf.append(new TextEncoder().encode("hi\n"));
 * assert.deepEqual(decoder.decode(buf), ["hi", "\n"]);
 * ```
 */
export const NO_CODEC_SETTINGS: CodecSettings = Object.freeze({});

/**
 * An action a read type runs on the handle with each decoded value, before the callback or
 * promise gets it (as `tlsAutostart` starts TLS). `H` is what the action needs of the handle.
 */
export type ReadAction<H> = (h: H, value: unknown, decoder: Decoder<unknown>) => void;

/**
 * A read type: makes one {@linkcode Decoder} per read from the handle's settings and the
 * arguments given after the type (`h.pushRead(chunk, 4, cb)`). Calling it binds those
 * arguments: `chunk(4)` is a read type that takes none, for `read` and `iterate`.
 *
 * @typeParam A The arguments after the type (a union of tuples for optional ones).
 * @typeParam T What the decoder returns: the value, or with `S` true the tuple of values.
 * @typeParam S Whether the tuple is spread into the callback (`line` passes `line, eol`);
 * promise reads and iterators then give its first element.
 * @typeParam H What the type's action needs of the handle (`unknown` when it has none).
 *
 * @example Reading with read types given by value
 * ```ts
 * import { chunk, Handle, line } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const peer = listener.accept().then(async (conn) => {
 *   await conn.write(new TextEncoder().encode("3\nabc"));
 *   return conn;
 * });
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * const size = Number(await h.read(line));
 * assert.deepEqual(await h.read(chunk(size)), new TextEncoder().encode("abc"));
 * h.destroy();
 * (await peer).close();
 * listener.close();
 * ```
 */
export interface ReadType<
  A extends unknown[] = unknown[],
  T = unknown,
  S extends boolean = boolean,
  H = unknown,
> {
  /**
   * Binds the arguments.
   *
   * @param args The arguments after the type.
   * @returns The same read type, taking no arguments.
   */
  (...args: A): ReadType<[], T, S, H>;
  /** The type's name, for messages (and the AnyEvent name it is known by, if any). */
  readonly typeName: string;
  /**
   * Makes one decoder.
   *
   * @param settings The settings of the handle that reads.
   * @param args The arguments after the type.
   * @returns A new decoder.
   * @throws {TypeError} Or `RangeError`, for arguments it cannot take.
   */
  readonly decoder: (settings: CodecSettings, ...args: A) => Decoder<T>;
  /** Whether the decoded tuple is spread into the callback's arguments. */
  readonly spread: S;
  /** The type's action on the handle, if any. */
  readonly act: ReadAction<H> | undefined;
  /**
   * The most arguments the type takes after it (`0` once they are bound); more are a
   * `TypeError` when the read is queued. Absent: not checked.
   */
  readonly maxReadArgs?: number;
}

/**
 * A read type that may be queued without a callback, its action doing the work (AnyEvent's
 * `push_read tls_autostart => "accept"`): `uncalled` makes the decoder of that form.
 */
export interface UncalledReadType<U extends unknown[]> {
  /**
   * Makes the decoder of a read queued without a callback.
   *
   * @param settings The settings of the handle that reads.
   * @param args The arguments given instead of a callback.
   * @returns A new decoder.
   */
  readonly uncalled: (settings: CodecSettings, ...args: U) => Decoder<unknown>;
  /** The most arguments the form without a callback takes (absent: not checked). */
  readonly maxUncalledArgs?: number;
}

/**
 * A write type: turns the arguments after it into bytes (`h.pushWrite(netstring, "hi")`).
 *
 * @typeParam A The arguments after the type.
 *
 * @example Writing with a write type given by value
 * ```ts
 * import { Handle, netstring } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepted = listener.accept();
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * const peer = new Handle(await accepted);
 * h.pushWrite(netstring, "hello");
 * assert.deepEqual(await peer.read(netstring), new TextEncoder().encode("hello"));
 * h.destroy();
 * peer.destroy();
 * listener.close();
 * ```
 */
export interface WriteType<A extends unknown[] = unknown[]> {
  /** The type's name, for messages. */
  readonly typeName: string;
  /**
   * Encodes one write. It should throw `RangeError`/`TypeError` for arguments it cannot
   * encode, before anything is queued.
   *
   * @param settings The settings of the handle that writes.
   * @param args The arguments after the type.
   * @returns Bytes the handle may keep.
   */
  readonly encoder: (settings: CodecSettings, ...args: A) => Uint8Array;
  /**
   * The most arguments the type takes after it; more are a `TypeError` before anything is
   * queued. Absent: not checked. (A codec's read side has its own, `maxReadArgs`.)
   */
  readonly maxWriteArgs?: number;
}

/**
 * Options for {@linkcode defineWriteType}, the write side of {@linkcode defineCodec}, and the
 * form without a callback of {@linkcode withUncalled}.
 */
export interface DefineWriteTypeOptions {
  /**
   * The most arguments the type takes after it (`h.pushWrite(type, ...args)`); more are a
   * `TypeError` before anything is queued, instead of being ignored.
   *
   * @default {Infinity}
   */
  maxArgs?: number;
}

/**
 * Throws if a read or write type is given more arguments than it takes.
 *
 * @param type The type.
 * @param count How many arguments it was given.
 * @param max The most it takes (`undefined`: not checked).
 * @throws {TypeError} Naming the type and both counts.
 *
 * @example Too many arguments for chunk
 * ```ts
 * import { checkArgCount, chunk } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * checkArgCount(chunk, 1, chunk.maxReadArgs);
 * assert.throws(() => checkArgCount(chunk, 2, chunk.maxReadArgs), {
 *   name: "TypeError",
 *   message: 'Cannot use "chunk" with 2 arguments: it takes at most 1',
 * });
 * ```
 */
export function checkArgCount(
  type: { readonly typeName: string },
  count: number,
  max: number | undefined,
): void {
  if (max !== undefined && count > max) {
    throw new TypeError(
      `Cannot use "${type.typeName}" with ${count} argument${count === 1 ? "" : "s"}: ` +
        `it takes at most ${max}`,
    );
  }
}

/** Any read type, whatever its arguments, values and action (what registries take). */
export type AnyReadType = ReadType<never, unknown, boolean, never>;

/** Any write type, whatever its arguments. */
export type AnyWriteType = WriteType<never>;

/** The values a read type's callback receives after the handle. */
export type ReadValues<T, S> = S extends true ? (T extends readonly unknown[] ? [...T] : never)
  : [T];

/** What a promise read or an iterator step of a read type gives: its first value. */
export type ReadResult<T, S> = S extends true
  ? (T extends readonly [infer First, ...unknown[]] ? First : never)
  : T;

/** Options for {@linkcode defineReadType}. */
export interface DefineReadTypeOptions<H> {
  /**
   * Whether the decoder returns a tuple whose elements are passed to the callback as separate
   * arguments (as `line` passes `line, eol`). Promise reads resolve with the first element.
   */
  spread?: boolean;
  /**
   * An action on the handle, run with each decoded value (and the decoder that produced it)
   * before the callback or promise gets it: for read types that change the connection, as
   * `tlsAutostart` starts TLS. What it throws is a fatal error.
   */
  act?: ReadAction<H>;
  /**
   * The most arguments the type takes after it (`h.pushRead(type, ...args, cb)`, and binding
   * them with `type(...args)`); more are a `TypeError` when the read is queued, instead of
   * being ignored. Types declare it: JavaScript cannot tell it from the decoder factory.
   *
   * @default {Infinity}
   */
  maxArgs?: number;
}

/**
 * Makes a read type from a decoder factory.
 *
 * @param name The type's name, for messages.
 * @param decoder Makes one decoder per read from the handle's settings and the arguments.
 * @param options Whether the decoded tuple is spread, an action on the handle, and the most
 * arguments it takes (`maxArgs`).
 * @returns The read type.
 * @throws {TypeError} If the name is empty or `decoder` is not a function.
 * @throws {RangeError} For a `maxArgs` that is not a non-negative integer.
 *
 * @example A read type for one byte
 * ```ts
 * import { defineReadType, Handle, NEED_MORE, type ReadType } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const byte: ReadType<[], number, false> = defineReadType("byte", () => ({
 *   decode(buf) {
 *     if (buf.length === 0) return NEED_MORE;
 *     const b = buf.at(0)!;
 *     buf.consume(1);
 *     return b;
 *   },
 * }));
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const peer = listener.accept().then(async (conn) => {
 *   await conn.write(new Uint8Array([42]));
 *   return conn;
 * });
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * assert.equal(await h.read(byte), 42);
 * h.destroy();
 * (await peer).close();
 * listener.close();
 * ```
 */
export function defineReadType<A extends unknown[], T, H = unknown>(
  name: string,
  decoder: (settings: CodecSettings, ...args: A) => Decoder<T>,
  options?: DefineReadTypeOptions<H> & { spread?: false },
): ReadType<A, T, false, H>;
/**
 * Makes a read type whose decoder returns a tuple, spread into the callback's arguments.
 *
 * @param name The type's name, for messages.
 * @param decoder Makes one decoder per read from the handle's settings and the arguments.
 * @param options `spread: true`, an action on the handle, and `maxArgs`.
 * @returns The read type.
 */
export function defineReadType<A extends unknown[], T extends readonly unknown[], H = unknown>(
  name: string,
  decoder: (settings: CodecSettings, ...args: A) => Decoder<T>,
  options: DefineReadTypeOptions<H> & { spread: true },
): ReadType<A, T, true, H>;
export function defineReadType(
  name: string,
  decoder: (settings: CodecSettings, ...args: unknown[]) => Decoder<unknown>,
  options: DefineReadTypeOptions<unknown> = {},
): ReadType {
  if (typeof name !== "string" || name === "") {
    throw new TypeError("Cannot define a read type: the name must be a non-empty string");
  }
  if (typeof decoder !== "function") {
    throw new TypeError(`Cannot define read type "${name}": the decoder must be a function`);
  }
  const maxArgs = checkedMax(options.maxArgs, `Cannot define read type "${name}"`);
  return readTypeOf(name, decoder, options.spread ?? false, options.act, maxArgs);
}

function readTypeOf(
  typeName: string,
  decoder: (settings: CodecSettings, ...args: unknown[]) => Decoder<unknown>,
  spread: boolean,
  act: ReadAction<unknown> | undefined,
  maxArgs: number | undefined,
): ReadType {
  const type = (...args: unknown[]): ReadType => {
    checkArgCount({ typeName }, args.length, maxArgs);
    return readTypeOf(typeName, (settings) => decoder(settings, ...args), spread, act, 0);
  };
  return Object.freeze(
    Object.assign(type, { typeName, decoder, spread, act, maxReadArgs: maxArgs }),
  );
}

/** A `maxArgs` option: absent, or a count (`Infinity` is the same as absent). */
function checkedMax(max: number | undefined, what: string): number | undefined {
  if (max === undefined || max === Infinity) return undefined;
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new RangeError(`${what}: maxArgs "${max}" is not a non-negative integer`);
  }
  return max;
}

/**
 * Adds the form without a callback to a read type (see {@linkcode UncalledReadType}).
 *
 * @param type The read type.
 * @param uncalled Makes the decoder of a read queued without a callback.
 * @param options `maxArgs`: the most arguments the form without a callback takes.
 * @returns A new read type, with both forms.
 *
 * @example A read type whose action does the work
 * ```ts
 * import { defineReadType, NEED_MORE, withUncalled } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const skipByte = defineReadType("skip-byte", () => ({
 *   decode: (buf) => buf.length === 0 ? NEED_MORE : (buf.consume(1), true),
 * }));
 * const skip = withUncalled(skipByte, (settings) => skipByte.decoder(settings));
 * assert.equal(typeof skip.uncalled, "function");
 * ```
 */
export function withUncalled<
  R extends ReadType<never, unknown, boolean, never>,
  U extends unknown[],
>(
  type: R,
  uncalled: (settings: CodecSettings, ...args: U) => Decoder<unknown>,
  options: DefineWriteTypeOptions = {},
): R & UncalledReadType<U> {
  const maxUncalledArgs = checkedMax(options.maxArgs, `Cannot extend read type "${type.typeName}"`);
  return extended(type, { uncalled, maxUncalledArgs }) as R & UncalledReadType<U>;
}

/** A copy of a read type (callable the same way) with more properties. */
function extended(type: AnyReadType, extra: Record<string, unknown>): unknown {
  const bind = (...args: unknown[]) => (type as unknown as (...a: unknown[]) => unknown)(...args);
  const own: Record<string, unknown> = {
    typeName: type.typeName,
    decoder: type.decoder,
    spread: type.spread,
    act: type.act,
    maxReadArgs: type.maxReadArgs,
  };
  if ("uncalled" in type) {
    own.uncalled = type.uncalled;
    own.maxUncalledArgs = (type as UncalledReadType<never>).maxUncalledArgs;
  }
  return Object.freeze(Object.assign(bind, own, extra));
}

/**
 * Makes a write type from an encoder.
 *
 * @param name The type's name, for messages.
 * @param encoder Turns the arguments into bytes.
 * @param options `maxArgs`: the most arguments it takes.
 * @returns The write type.
 * @throws {TypeError} If the name is empty or `encoder` is not a function.
 * @throws {RangeError} For a `maxArgs` that is not a non-negative integer.
 *
 * @example A write type for one byte
 * ```ts
 * import { defineWriteType, NO_CODEC_SETTINGS } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const byte = defineWriteType("byte", (_settings, b: number) => new Uint8Array([b]));
 * assert.deepEqual(byte.encoder(NO_CODEC_SETTINGS, 7), new Uint8Array([7]));
 * ```
 */
export function defineWriteType<A extends unknown[]>(
  name: string,
  encoder: (settings: CodecSettings, ...args: A) => Uint8Array,
  options: DefineWriteTypeOptions = {},
): WriteType<A> {
  if (typeof name !== "string" || name === "") {
    throw new TypeError("Cannot define a write type: the name must be a non-empty string");
  }
  if (typeof encoder !== "function") {
    throw new TypeError(`Cannot define write type "${name}": the encoder must be a function`);
  }
  const maxArgs = checkedMax(options.maxArgs, `Cannot define write type "${name}"`);
  return Object.freeze({ typeName: name, encoder, maxWriteArgs: maxArgs });
}

/**
 * Makes one value that is both a read type and a write type (as `netstring` reads and writes
 * netstrings).
 *
 * @param read The read type.
 * @param encoder The write type's encoder.
 * @param options `maxArgs`: the most arguments the write side takes.
 * @returns A new read type that is also a write type of the same name.
 *
 * @example A codec that reads and writes single bytes
 * ```ts
 * import { defineCodec, defineReadType, NEED_MORE, NO_CODEC_SETTINGS } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const byte = defineCodec(
 *   defineReadType("byte", () => ({
 *     decode: (buf) => buf.length === 0 ? NEED_MORE : buf.take(1)[0],
 *   })),
 *   (_settings, b: number) => new Uint8Array([b]),
 * );
 * assert.deepEqual(byte.encoder(NO_CODEC_SETTINGS, 1), new Uint8Array([1]));
 * assert.equal(byte.typeName, "byte");
 * ```
 */
export function defineCodec<
  R extends ReadType<never, unknown, boolean, never>,
  W extends unknown[],
>(
  read: R,
  encoder: (settings: CodecSettings, ...args: W) => Uint8Array,
  options: DefineWriteTypeOptions = {},
): R & WriteType<W> {
  const maxWriteArgs = checkedMax(options.maxArgs, `Cannot define codec "${read.typeName}"`);
  return extended(read, { encoder, maxWriteArgs }) as R & WriteType<W>;
}

/**
 * Whether a value is a read type.
 *
 * @param value Anything.
 * @returns Whether it is a {@linkcode ReadType}.
 *
 * @example Telling read types from other arguments
 * ```ts
 * import { isReadType, line } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isReadType(line), true);
 * assert.equal(isReadType(() => true), false);
 * ```
 */
export function isReadType(value: unknown): value is ReadType {
  return typeof value === "function" && typeof (value as Partial<ReadType>).decoder === "function";
}

/**
 * Whether a value is a write type.
 *
 * @param value Anything.
 * @returns Whether it is a {@linkcode WriteType}.
 *
 * @example Telling write types from bytes
 * ```ts
 * import { isWriteType, json } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isWriteType(json), true);
 * assert.equal(isWriteType("text"), false);
 * ```
 */
export function isWriteType(value: unknown): value is WriteType {
  return (typeof value === "function" || (typeof value === "object" && value !== null)) &&
    typeof (value as Partial<WriteType>).encoder === "function";
}
