/**
 * AnyEvent's string names for read and write types: `h.pushRead("line", cb)` means
 * `h.pushRead(line, cb)`. The built-in names are a fixed table, typed and known without any
 * import side effect; an application may add names of its own at run time.
 *
 * What it owns: the name tables. What it may not touch: the handle (it sits below it).
 *
 * @module
 */
import {
  type AnyReadType,
  type AnyWriteType,
  isReadType,
  type ReadType,
  type WriteType,
} from "../base/codec.ts";
import { chunk, type ChunkType } from "../codecs/chunk.ts";
import { json, type JsonType } from "../codecs/json.ts";
import { lengthField, type LengthFieldType } from "../codecs/length_field.ts";
import { line, type LineType } from "../codecs/line.ts";
import { lines, type LinesType } from "../codecs/lines.ts";
import { netstring, type NetstringType } from "../codecs/netstring.ts";
import { packstring, type PackstringType } from "../codecs/packstring.ts";
import { proxy, type ProxyType, proxyV1, proxyV2 } from "../codecs/proxy.ts";
import type { EncodeProxyV2Options, ProxyHeader } from "../codecs/proxy_encode.ts";
import { regex, type RegexType } from "../codecs/regex.ts";
import {
  tlsAutostart,
  type TlsAutostartType,
  tlsDetect,
  type TlsDetectType,
} from "../tls/detect.ts";

/** The built-in read types by their AnyEvent names. */
export interface BuiltinReadTypes {
  /** {@linkcode line} */
  line: LineType;
  /** {@linkcode lines} */
  lines: LinesType;
  /** {@linkcode chunk} */
  chunk: ChunkType;
  /** {@linkcode regex} */
  regex: RegexType;
  /** {@linkcode netstring} */
  netstring: NetstringType;
  /** {@linkcode packstring} */
  packstring: PackstringType;
  /** {@linkcode json} */
  json: JsonType;
  /** {@linkcode tlsDetect} */
  tls_detect: TlsDetectType;
  /** {@linkcode tlsAutostart} */
  tls_autostart: TlsAutostartType;
  /** {@linkcode proxy} */
  proxy: ProxyType;
  /** {@linkcode lengthField} */
  length_field: LengthFieldType;
}

/** The built-in write types by their AnyEvent names. */
export interface BuiltinWriteTypes {
  /** {@linkcode netstring} */
  netstring: NetstringType;
  /** {@linkcode packstring} */
  packstring: PackstringType;
  /** {@linkcode json} */
  json: JsonType;
  /** {@linkcode proxyV1} */
  proxy_v1: WriteType<[header: ProxyHeader]>;
  /** {@linkcode proxyV2} */
  proxy_v2: WriteType<[header: ProxyHeader, options?: EncodeProxyV2Options]>;
  /** {@linkcode lengthField} */
  length_field: LengthFieldType;
}

/**
 * Names an application registers with {@linkcode registerReadType}, mapped to their types so
 * that `pushRead(name, ...)` is checked. Empty here; an application (never a published
 * package, whose registry rejects it) may add entries by declaration merging:
 *
 * ```ts ignore
 * declare module "@anyevent/handle" {
 *   interface ReadTypes {
 *     resp: RespType;
 *   }
 * }
 * ```
 *
 * Codec modules need none of this: pass their values (`h.pushRead(resp, cb)`).
 */
// deno-lint-ignore no-empty-interface
export interface ReadTypes {}

/** Names an application registers with {@linkcode registerWriteType}, as {@linkcode ReadTypes}. */
// deno-lint-ignore no-empty-interface
export interface WriteTypes {}

/** Every read type name the type checker knows. */
export type ReadTypeNames = BuiltinReadTypes & ReadTypes;

/** Every write type name the type checker knows. */
export type WriteTypeNames = BuiltinWriteTypes & WriteTypes;

const builtinReads: Readonly<Record<string, ReadType>> = Object.freeze(
  {
    line,
    lines,
    chunk,
    regex,
    netstring,
    packstring,
    json,
    tls_detect: tlsDetect,
    tls_autostart: tlsAutostart,
    proxy,
    length_field: lengthField,
  } satisfies BuiltinReadTypes,
) as unknown as Record<string, ReadType>;

const builtinWrites: Readonly<Record<string, WriteType>> = Object.freeze(
  {
    netstring,
    packstring,
    json,
    proxy_v1: proxyV1,
    proxy_v2: proxyV2,
    length_field: lengthField,
  } satisfies BuiltinWriteTypes,
) as unknown as Record<string, WriteType>;

const registeredReads = new Map<string, ReadType>();
const registeredWrites = new Map<string, WriteType>();

function checkName(name: unknown, kind: string, taken: boolean): asserts name is string {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`Cannot register ${kind} type: the name must be a non-empty string`);
  }
  if (taken) throw new TypeError(`Cannot register ${kind} type "${name}": the name is taken`);
}

/**
 * Gives a read type a name for `pushRead(name, ...)`, as AnyEvent's `register_read_type`.
 * Passing the value itself needs no name.
 *
 * @param type The read type.
 * @param name The name; the type's own `typeName` if omitted.
 * @throws {TypeError} If the name is empty, built in or already registered.
 *
 * @example Naming a read type
 * ```ts
 * import { defineReadType, NEED_MORE, readTypeNamed, registerReadType } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const byte = defineReadType("example-byte", () => ({
 *   decode: (buf) => buf.length === 0 ? NEED_MORE : buf.take(1)[0],
 * }));
 * registerReadType(byte);
 * assert.equal(readTypeNamed("example-byte"), byte);
 * ```
 */
export function registerReadType(type: AnyReadType, name: string = type?.typeName): void {
  checkName(name, "read", Object.hasOwn(builtinReads, name) || registeredReads.has(name));
  if (typeof type?.decoder !== "function") {
    throw new TypeError(`Cannot register read type "${name}": expected a read type`);
  }
  registeredReads.set(name, type as unknown as ReadType);
}

/**
 * Gives a write type a name for `pushWrite(name, ...)`.
 *
 * @param type The write type.
 * @param name The name; the type's own `typeName` if omitted.
 * @throws {TypeError} If the name is empty, built in or already registered.
 *
 * @example Naming a write type
 * ```ts
 * import { defineWriteType, registerWriteType, writeTypeNamed } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const byte = defineWriteType("example-byte", (_settings, b: number) => new Uint8Array([b]));
 * registerWriteType(byte);
 * assert.equal(writeTypeNamed("example-byte"), byte);
 * ```
 */
export function registerWriteType(type: AnyWriteType, name: string = type?.typeName): void {
  checkName(name, "write", Object.hasOwn(builtinWrites, name) || registeredWrites.has(name));
  if (typeof type?.encoder !== "function") {
    throw new TypeError(`Cannot register write type "${name}": expected a write type`);
  }
  registeredWrites.set(name, type as unknown as WriteType);
}

/**
 * The read type a name stands for.
 *
 * @param name A built-in or registered name.
 * @returns The read type.
 * @throws {TypeError} If no read type has that name.
 *
 * @example The line type by name
 * ```ts
 * import { line, readTypeNamed } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * assert.equal(readTypeNamed("line"), line);
 * ```
 */
export function readTypeNamed(name: string): ReadType {
  // Re-pushing the same name per frame is the common pattern: it skips the lookups.
  if (name === lastName) return lastRead!;
  const type = Object.hasOwn(builtinReads, name) ? builtinReads[name] : registeredReads.get(name);
  if (type === undefined) throw new TypeError(`Unknown read type "${name}"`);
  lastName = name;
  return lastRead = type;
}

let lastName: string | undefined;
let lastRead: ReadType | undefined;

/**
 * The write type a name stands for.
 *
 * @param name A built-in or registered name.
 * @returns The write type.
 * @throws {TypeError} If no write type has that name.
 *
 * @example A write type that does not exist
 * ```ts
 * import { writeTypeNamed } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => writeTypeNamed("nope"), TypeError);
 * ```
 */
export function writeTypeNamed(name: string): WriteType {
  const type = Object.hasOwn(builtinWrites, name)
    ? builtinWrites[name]
    : registeredWrites.get(name);
  if (type === undefined) throw new TypeError(`Unknown write type "${name}"`);
  return type;
}

/**
 * The read type an argument of `pushRead`, `read` or `iterate` stands for: a read type as it
 * is, a name looked up.
 *
 * @param value A read type, its name, or anything else.
 * @returns The read type, or `undefined` for something that is neither.
 * @throws {TypeError} For a name no read type has.
 *
 * @example Values and names
 * ```ts
 * import { line, toReadType } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * assert.equal(toReadType("line"), line);
 * assert.equal(toReadType(line), line);
 * assert.equal(toReadType(() => true), undefined);
 * ```
 */
export function toReadType(value: unknown): ReadType | undefined {
  if (typeof value === "string") return readTypeNamed(value);
  return isReadType(value) ? value : undefined;
}
