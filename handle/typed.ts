/**
 * The types that tie a read or write type, given by value or by name, to what `pushRead`,
 * `read`, `iterate` and `pushWrite` accept and give. `H` is the handle the callbacks receive.
 *
 * @module
 */
import type {
  ReadResult,
  ReadType,
  ReadValues,
  UncalledReadType,
  WriteType,
} from "../base/codec.ts";
import type { ReadTypeNames, WriteTypeNames } from "./names.ts";

/**
 * The callback of a read type that decodes `T` (spread into arguments when `S` is true).
 *
 * @typeParam T What the decoder returns.
 * @typeParam S Whether it is a tuple spread into the arguments.
 * @typeParam H The handle.
 */
export type TypedReadCallback<T, S, H> = (h: H, ...values: ReadValues<T, S>) => void;

/** The arguments, then the callback, that the read type named `K` takes. */
export type NamedReadRest<K extends keyof ReadTypeNames, H> = ReadTypeNames[K] extends
  ReadType<infer A, infer T, infer S, infer _> ? [...A, TypedReadCallback<T, S, H>] : never;

/** The arguments the read type named `K` takes without a callback (`never` if it needs one). */
export type NamedUncalledArgs<K extends keyof ReadTypeNames> = ReadTypeNames[K] extends
  UncalledReadType<infer U> ? U : never;

/** The arguments the read type named `K` takes. */
export type NamedReadArgs<K extends keyof ReadTypeNames> = ReadTypeNames[K] extends
  ReadType<infer A, infer _T, infer _S, infer _H> ? A : never;

/** What a promise read of the read type named `K` resolves with. */
export type NamedReadResult<K extends keyof ReadTypeNames> = ReadTypeNames[K] extends
  ReadType<infer _A, infer T, infer S, infer _H> ? ReadResult<T, S> : never;

/** The arguments the write type named `K` takes. */
export type NamedWriteArgs<K extends keyof WriteTypeNames> = WriteTypeNames[K] extends
  WriteType<infer A> ? A : never;
