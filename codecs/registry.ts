/**
 * The typed registry of read and write types. A codec module registers its types when it is
 * imported, and augments {@linkcode ReadTypes} / {@linkcode WriteTypes} by declaration merging
 * so that `h.pushRead("name", ...)` is type-checked.
 *
 * What it owns: the name -> decoder factory and name -> encoder maps, and the empty type maps
 * that codecs extend. What it may not touch: any codec (built-in ones register themselves here
 * exactly as third-party ones do), TLS, and the handle.
 *
 * @module
 */
import type { Decoder } from "./decoder.ts";

/**
 * The read types known to the type checker: each key is a type name, each value describes the
 * arguments the type takes after its name and the values its callback receives after the
 * handle. It is empty here: every codec module, built-in or third-party, adds its own entries
 * by declaration merging next to its decoder (`codecs/line.ts` adds `line`), so the registry
 * knows no codec:
 *
 * ```ts ignore
 * declare module "@anyevent/handle" {
 *   interface ReadTypes {
 *     resp: { args: []; values: [value: RespValue] };
 *   }
 * }
 * ```
 */
// deno-lint-ignore no-empty-interface
export interface ReadTypes {}

/**
 * The write types known to the type checker: each key is a type name, each value the tuple of
 * arguments `pushWrite` takes after the name. Codecs add entries by declaration merging, as
 * for {@linkcode ReadTypes}.
 */
// deno-lint-ignore no-empty-interface
export interface WriteTypes {}

/** The shape every {@linkcode ReadTypes} entry has. */
export interface ReadTypeShape {
  /** The arguments after the type name (a union of tuples for optional arguments). */
  args: unknown[];
  /** What the callback receives after the handle. */
  values: unknown[];
}

/** The arguments read type `K` takes after its name. */
export type ReadArgs<K extends keyof ReadTypes> = Extract<
  ReadTypes[K] extends { args: infer A } ? A : never,
  unknown[]
>;

/**
 * The arguments read type `K` takes when `pushRead` is called without a callback (its
 * `uncalled` tuples; `never` for types that always need one).
 */
export type UncalledArgs<K extends keyof ReadTypes> = ReadTypes[K] extends
  { uncalled: infer A extends unknown[] } ? A : never;

/** The values the callback of read type `K` receives after the handle. */
export type ReadValues<K extends keyof ReadTypes> = ReadTypes[K] extends
  { values: infer V extends unknown[] } ? V : never;

/** What the decoder of read type `K` returns: the single value, or the tuple of values. */
export type Decoded<K extends keyof ReadTypes> = ReadValues<K> extends [infer Only] ? Only
  : Readonly<ReadValues<K>>;

/** The arguments write type `K` takes after its name. */
export type WriteArgs<K extends keyof WriteTypes> = Extract<WriteTypes[K], unknown[]>;

/** Options for {@linkcode registerReadType}. */
export interface RegisterReadTypeOptions {
  /**
   * Whether the decoder returns a tuple whose elements are passed to the callback as separate
   * arguments (as `line` passes `line, eol`). Promise reads resolve with the first element.
   *
   * @default {false}
   */
  spread?: boolean;
  /**
   * An action on the handle, run with the decoded value (and the decoder that produced it)
   * before the callback or promise gets the value: for read types that change the
   * connection, as `tls_autostart` starts TLS. What it throws is a fatal error.
   */
  // deno-lint-ignore no-explicit-any
  act?: (h: any, value: unknown, decoder: Decoder<unknown>) => void;
  /**
   * Whether `pushRead` may be called without a callback (the type's `act` does the work, as
   * in AnyEvent's `push_read tls_autostart => "accept"`): a last argument that is not a
   * function is then passed to the factory. Type it with an `uncalled` tuple in the
   * {@linkcode ReadTypes} entry.
   *
   * @default {false}
   */
  callbackOptional?: boolean;
}

/** A registered read type, as the handle uses it. */
export interface ReadTypeEntry {
  /** The registered name. */
  readonly name: string;
  /** Makes one decoder per read request. */
  readonly create: (...args: unknown[]) => Decoder<unknown>;
  /** Whether the decoded tuple is spread into the callback's arguments. */
  readonly spread: boolean;
  /** The read type's action on the handle, if any (see {@linkcode RegisterReadTypeOptions}). */
  // deno-lint-ignore no-explicit-any
  readonly act?: (h: any, value: unknown, decoder: Decoder<unknown>) => void;
  /** Whether `pushRead` may omit the callback. */
  readonly callbackOptional: boolean;
}

/** A registered write type: arguments in, bytes out. */
export type WriteEncoder = (...args: never[]) => Uint8Array;

const readTypes = new Map<string, ReadTypeEntry>();
let lastRead: ReadTypeEntry | undefined;
const writeTypes = new Map<string, WriteEncoder>();

function checkName(name: unknown, kind: string, taken: Map<string, unknown>): void {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`Cannot register ${kind} type: the name must be a non-empty string`);
  }
  if (taken.has(name)) {
    throw new TypeError(`Cannot register ${kind} type "${name}": it is already registered`);
  }
}

/**
 * Registers a read type: `create` makes one {@linkcode Decoder} per read request from the
 * arguments that follow the type name.
 *
 * @param name The type name, as used in `pushRead(name, ...)`.
 * @param create The decoder factory.
 * @param options Whether the decoded tuple is spread into the callback.
 * @throws {TypeError} If the name is empty or already registered.
 *
 * @example Registering a read type for one byte
 *
 * Not run as a doc test: doc tests wrap their code in a function, where a module augmentation
 * is not allowed; `examples/` and `tests/` hold runnable codecs.
 *
 * ```ts ignore
 * import { NEED_MORE, registerReadType } from "@anyevent/handle";
 *
 * declare module "@anyevent/handle" {
 *   interface ReadTypes {
 *     "example-byte": { args: []; values: [byte: number] };
 *   }
 * }
 *
 * registerReadType("example-byte", () => ({
 *   decode(buf) {
 *     if (buf.length === 0) return NEED_MORE;
 *     const b = buf.at(0)!;
 *     buf.consume(1);
 *     return b;
 *   },
 * }));
 * ```
 */
export function registerReadType<K extends keyof ReadTypes>(
  name: K,
  create: (...args: ReadArgs<K>) => Decoder<Decoded<K>>,
  options: RegisterReadTypeOptions = {},
): void {
  checkName(name, "read", readTypes);
  readTypes.set(name as string, {
    name: name as string,
    create: create as (...args: unknown[]) => Decoder<unknown>,
    spread: options.spread ?? false,
    act: options.act,
    callbackOptional: options.callbackOptional ?? false,
  });
}

/**
 * Registers a write type: `encode` turns the arguments that follow the type name into bytes.
 * It should throw `RangeError`/`TypeError` for arguments it cannot encode, before anything is
 * queued.
 *
 * @param name The type name, as used in `pushWrite(name, ...)`.
 * @param encode The encoder.
 * @throws {TypeError} If the name is empty or already registered.
 *
 * @example Registering a write type for one byte
 *
 * Not run as a doc test, for the same reason as {@linkcode registerReadType}'s example.
 *
 * ```ts ignore
 * import { registerWriteType } from "@anyevent/handle";
 *
 * declare module "@anyevent/handle" {
 *   interface WriteTypes {
 *     "example-byte": [byte: number];
 *   }
 * }
 *
 * registerWriteType("example-byte", (byte) => new Uint8Array([byte]));
 * ```
 */
export function registerWriteType<K extends keyof WriteTypes>(
  name: K,
  encode: (...args: WriteArgs<K>) => Uint8Array,
): void {
  checkName(name, "write", writeTypes);
  writeTypes.set(name as string, encode as unknown as WriteEncoder);
}

/**
 * Looks up a registered read type.
 *
 * @param name The type name.
 * @returns The registered entry.
 * @throws {TypeError} If no read type has that name.
 *
 * @example Looking up the line type
 * ```ts
 * import { readType } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * assert.equal(readType("line").spread, true);
 * ```
 */
export function readType(name: string): ReadTypeEntry {
  // Re-pushing the same type per frame is the common pattern: skip the map lookup for it.
  if (name === lastRead?.name) return lastRead;
  const entry = lastRead = readTypes.get(name);
  if (entry === undefined) throw new TypeError(`Unknown read type "${name}"`);
  return entry;
}

/**
 * Looks up a registered write type.
 *
 * @param name The type name.
 * @returns The encoder.
 * @throws {TypeError} If no write type has that name.
 *
 * @example Looking up a write type that does not exist
 * ```ts
 * import { writeType } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => writeType("nope"), TypeError);
 * ```
 */
export function writeType(name: string): WriteEncoder {
  const encode = writeTypes.get(name);
  if (encode === undefined) throw new TypeError(`Unknown write type "${name}"`);
  return encode;
}

/** A JSON coder: what the `json` read and write types parse and stringify with. */
export interface JsonCoder {
  /** Parses one JSON text (`JSON.parse`, or one with a reviver or big-integer support). */
  parse(text: string): unknown;
  /** Turns a value into JSON text. */
  stringify(value: unknown): string;
}

/**
 * What a handle passes on to the codecs it uses: its `maxFrameLength` and `json` options. They
 * are in force while the handle makes a decoder or encodes a typed write, and codecs read them
 * with {@linkcode codecSettings}, so the registry stays the only thing codecs and handles share.
 */
export interface CodecSettings {
  /** The default `maxLength` of every framing. */
  readonly maxFrameLength?: number;
  /** The JSON coder of the `json` types. */
  readonly json?: JsonCoder;
}

let current: CodecSettings | undefined;

/**
 * The settings of the handle that is making a decoder or encoding a typed write right now.
 *
 * @returns Those settings, or `undefined` outside such a call or for a handle without any.
 *
 * @example Settings in force during a call
 * ```ts
 * import { codecSettings, withCodecSettings } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * assert.equal(codecSettings(), undefined);
 * withCodecSettings({ maxFrameLength: 10 }, () => {
 *   assert.equal(codecSettings()?.maxFrameLength, 10);
 * });
 * ```
 */
export function codecSettings(): CodecSettings | undefined {
  return current;
}

/**
 * Runs `run` with `settings` in force (see {@linkcode codecSettings}).
 *
 * @param settings A handle's codec settings.
 * @param run Makes a decoder, or encodes a write.
 * @returns What `run` returns.
 *
 * @example Making a decoder with a handle's settings
 * ```ts
 * import { lineDecoder, ReadBuffer, withCodecSettings } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const decoder = withCodecSettings({ maxFrameLength: 4 }, () => lineDecoder());
 * const buf = new ReadBuffer();
 * buf.append(new TextEncoder().encode("too long\n"));
 * assert.throws(() => decoder.decode(buf), { code: "EMSGSIZE" });
 * ```
 */
export function withCodecSettings<T>(settings: CodecSettings | undefined, run: () => T): T {
  const outer = current;
  current = settings;
  try {
    return run();
  } finally {
    current = outer;
  }
}
