/**
 * The types that tie a read or write type, given by value or by name, to what `pushRead`,
 * `read`, `iterate` and `pushWrite` accept and give. `H` is the handle the callbacks receive.
 *
 * Each of those methods has one generic signature for both forms (a value and a name), so that
 * a mistake is reported against that signature alone, on the argument that is wrong. The type
 * of the arguments after the read or write type is computed per position from how many were
 * given: a type that takes `[] | [eol]` then a callback is checked as `(callback)` for one
 * argument and `(eol, callback)` for two, never as a union of argument lists. The callback
 * keeps its parameter types even in a call with a mistake, so that one mistake is one error.
 *
 * @module
 */
import type {
  CodecSettings,
  ReadAction,
  ReadResult,
  ReadValues,
  UncalledReadType,
  WriteType,
} from "../base/codec.ts";
import type { Decoder } from "../base/decoder.ts";
import type { CustomReaderFor } from "./options.ts";
import type { ReadTypeNames, WriteTypeNames } from "./names.ts";
import type { Fit, FixedForms } from "./fit.ts";

/**
 * The callback of a read type that decodes `T` (spread into arguments when `S` is true).
 *
 * @typeParam T What the decoder returns.
 * @typeParam S Whether it is a tuple spread into the arguments.
 * @typeParam H The handle.
 */
export type TypedReadCallback<T, S, H> = (h: H, ...values: ReadValues<T, S>) => void;

/**
 * What `pushRead`, `read` and `iterate` accept as a read type value. It has no call signature,
 * so that a custom reader's arrow function (the other thing `pushRead` takes) is typed by
 * {@linkcode CustomReaderFor} alone.
 *
 * @typeParam H The handle the type's action runs on.
 */
export interface ReadTypeLike<H> {
  /** The type's name. */
  readonly typeName: string;
  /** Makes one decoder. */
  readonly decoder: (settings: CodecSettings, ...args: never) => Decoder<unknown>;
  /** Whether the decoded tuple is spread into the callback's arguments. */
  readonly spread: boolean;
  /** The type's action on the handle, if any. */
  readonly act: ReadAction<H> | undefined;
}

/** What `read`, `iterate` and the typed `pushRead` take first: a read type or its name. */
export type ReadTypeArg<H> = ReadTypeLike<H> | keyof ReadTypeNames;

/** What the typed `pushWrite` takes first: a write type or its name. */
export type WriteTypeArg = WriteType<never> | keyof WriteTypeNames;

/**
 * The parameter a callback is checked against: the callback's type, and (for the arrow
 * function's sake) the same with any further parameters allowed, so that a callback with too
 * many parameters is still typed and is reported once, as one that the handle gives fewer
 * arguments.
 *
 * @typeParam T What the decoder returns.
 * @typeParam S Whether it is a tuple spread into the arguments.
 * @typeParam H The handle.
 */
export type ReadCallbackParameter<T, S, H> =
  & TypedReadCallback<T, S, H>
  & ((h: H, ...values: [...ReadValues<T, S>, ...ExtraParameter[]]) => void);

/**
 * What a callback parameter the handle never passes is typed as (always an error: see
 * {@linkcode ReadCallbackParameter}).
 */
export interface ExtraParameter {
  /** Never present: the handle passes no such argument. */
  readonly "no such argument": never;
}

/** The read type a value or name stands for. */
export type ReadTypeOf<R> = R extends keyof ReadTypeNames ? ReadTypeNames[R] : R;

/** The write type a value or name stands for. */
export type WriteTypeOf<W> = W extends keyof WriteTypeNames ? WriteTypeNames[W] : W;

/**
 * The argument lists a read type `R` takes after it in `pushRead`: its arguments then the
 * callback, or (for a type that acts by itself) its arguments alone.
 */
export type ReadForms<R, H> = ReadTypeOf<R> extends ReadParts<infer A, infer T, infer S>
  ? [...FixedForms<A>, callback: ReadCallbackParameter<T, S, H>] | UncalledArgs<ReadTypeOf<R>>
  : never;

/**
 * The parts of a read type that its arguments and values are inferred from: its decoder
 * factory and `spread`.
 *
 * @typeParam A The arguments after the type.
 * @typeParam T What the decoder returns.
 * @typeParam S Whether the decoded tuple is spread into the callback.
 */
export interface ReadParts<A extends unknown[], T, S> {
  /** Makes one decoder. */
  readonly decoder: (settings: CodecSettings, ...args: A) => Decoder<T>;
  /** Whether the decoded tuple is spread into the callback's arguments. */
  readonly spread: S;
}

/** The argument lists a read type takes without a callback (`never` if it needs one). */
export type UncalledArgs<R> = R extends UncalledReadType<infer U> ? U : never;

/** The argument lists a read type `R` takes in `read` and `iterate`. */
export type ReadArgs<R> = ReadTypeOf<R> extends ReadParts<infer A, infer _T, infer _S> ? A
  : never;

/** What a promise read or an iterator step of the read type (or name) `R` gives. */
export type ReadResultOf<R> = ReadTypeOf<R> extends ReadParts<infer _A, infer T, infer S>
  ? ReadResult<T, S>
  : never;

/** The argument lists the write type (or name) `W` takes. */
export type WriteForms<W> = WriteTypeOf<W> extends WriteType<infer A> ? A : never;

/**
 * The arguments of `pushRead(type, ...args)` for `P` (the arguments given, of which only
 * their number is used): checked one by one against the argument list of that length.
 */
export type PushReadArgs<R, P extends unknown[], H> = Fit<PushReadForms<R, H>, P, true>;

/** The argument lists of `pushRead(type, ...)`: none after a custom reader. */
export type PushReadForms<R, H> = [R] extends [never] ? Unresolved<H>
  : [R] extends [CustomReaderFor<H>] ? []
  : [R] extends [ReadTypeArg<H>] ? ReadForms<R, H>
  : Unresolved<H>;

/** The arguments of `read(type, ...args)`: the type's, then optionally `{ signal }`. */
export type ReadCallArgs<R, P extends unknown[], H, O> = Fit<
  [R] extends [never] ? Unresolved<H>
    : [R] extends [ReadTypeArg<H>]
      ? FixedForms<ReadArgs<R>> | [...FixedForms<ReadArgs<R>>, options: O]
    : Unresolved<H>,
  P,
  false
>;

/** The arguments of `iterate(type, ...args)`. */
export type IterateArgs<R, P extends unknown[], H> = Fit<
  [R] extends [never] ? Unresolved<H> : [R] extends [ReadTypeArg<H>] ? ReadArgs<R> : Unresolved<H>,
  P,
  false
>;

/**
 * The arguments of `pushWrite(data, ...args)`: none after text or bytes (a name alone is text
 * too), else the write type's.
 */
export type WriteArgs<W, P extends unknown[], H> = [W] extends [never] ? Unresolved<H>
  : [W] extends [keyof WriteTypeNames] ? (P extends [] ? [] : Fit<WriteForms<W>, P, false>)
  : Fit<
    [W] extends [string | Uint8Array] ? [] : [W] extends [WriteTypeArg] ? WriteForms<W>
    : Unresolved<H>,
    P,
    false
  >;

/**
 * The arguments after a first argument that is no read or write type (already an error):
 * anything, where a callback is typed loosely, so that the one error is the first argument's.
 */
export type Unresolved<H> = AnyArgument<H>[];

/**
 * Any value, where a function is a callback whose values are not known (its parameters are
 * typed, not implicitly `any`).
 */
export type AnyArgument<H> =
  // deno-lint-ignore no-explicit-any
  | ((h: H, ...values: any[]) => void)
  | object
  | string
  | number
  | bigint
  | boolean
  | symbol
  | null
  | undefined;

/** The callback and arguments that the read type named `K` takes (`pushRead(K, ...)`). */
export type NamedReadRest<K extends keyof ReadTypeNames, H> = ReadTypeNames[K] extends
  ReadParts<infer A, infer T, infer S> ? [...A, TypedReadCallback<T, S, H>] : never;

/** The arguments the read type named `K` takes without a callback (`never` if it needs one). */
export type NamedUncalledArgs<K extends keyof ReadTypeNames> = UncalledArgs<ReadTypeNames[K]>;

/** The arguments the read type named `K` takes. */
export type NamedReadArgs<K extends keyof ReadTypeNames> = ReadArgs<K>;

/** What a promise read of the read type named `K` resolves with. */
export type NamedReadResult<K extends keyof ReadTypeNames> = ReadResultOf<K>;

/** The arguments the write type named `K` takes. */
export type NamedWriteArgs<K extends keyof WriteTypeNames> = WriteForms<K>;
