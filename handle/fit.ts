/**
 * Argument lists checked one position at a time. A read type takes a union of argument lists
 * (`line` takes `[]` or `[eol]`, then a callback); TypeScript checks arguments against such a
 * union as a whole (`Argument of type '[string, string, ...]' is not assignable to ...`), and
 * against overloads it reports the last one. {@linkcode Fit} picks, from the number of
 * arguments given, the one list of that length, so that each argument is checked against the
 * type at its own position and a mistake is reported on the argument that is wrong.
 *
 * @module
 */

/**
 * What an argument after the last one a read or write type takes is checked against: nothing
 * is (an extra argument).
 */
export interface ExtraArgument {
  /** Never present: the type takes no such argument. */
  readonly "no such argument": never;
}

/**
 * What the last argument given is checked against when the type expects `Expected` there and
 * more arguments, then `Callback`, after it: a value there is no callback, and a callback there
 * is not `Expected` (an argument is missing before it). The callback is still typed.
 */
export type MissingArgument<Expected, Callback> = Expected & Callback;

/**
 * The argument lists `F` with optional elements spelled out: `[a: number, b?: string]`
 * becomes `[number] | [number, string | undefined]`, so that every list has one length (and
 * a callback can follow the shorter ones). Lists without optional elements stay as they are.
 */
export type FixedForms<F extends unknown[]> = F extends unknown
  ? (number extends F["length"] ? F : F extends Required<F> ? F : Prefixes<F, F["length"]>)
  : never;

/** The first `N` elements of the list `F`, for each `N` of a union (`Acc`: those so far). */
export type Prefixes<F extends unknown[], N, Acc extends unknown[] = []> = N extends unknown
  ? (Acc["length"] extends N ? Acc : Prefixes<F, N, [...Acc, F[Acc["length"]]]>)
  : never;

/** The index of the last element of the list `P`, as a key (`"2"` for three elements). */
export type LastIndex<P extends unknown[]> = P extends [...infer Q, unknown] ? `${Q["length"]}`
  : never;

/** The longest lists in the union `F` that are shorter than the list `P`. */
export type LongestBelow<F, P extends unknown[]> = P extends [...infer Q, unknown]
  ? ([Extract<F, { length: Q["length"] }>] extends [never] ? LongestBelow<F, Q>
    : Extract<F, { length: Q["length"] }>)
  : never;

/** The shortest lists in the union `F` (`F` itself if none has fewer than 16 elements). */
export type Shortest<F, K extends unknown[] = []> = K["length"] extends 16 ? F
  : [Extract<F, { length: K["length"] }>] extends [never] ? Shortest<F, [...K, unknown]>
  : Extract<F, { length: K["length"] }>;

/**
 * The arguments `P` (only their number matters) checked against the argument lists `F`, as a
 * list of the same length:
 *
 * - a list of that length: its types, position by position (several such lists: the union of
 *   their types at each position);
 * - more arguments than the longest list below that length: {@linkcode TooMany};
 * - fewer than the shortest list: {@linkcode TooFew}.
 *
 * Optional elements are spelled out first ({@linkcode FixedForms}); lists of no fixed length
 * (a rest argument) are checked as they are, as a union.
 *
 * @typeParam F The argument lists (a union of tuples).
 * @typeParam P The arguments given.
 * @typeParam C Whether every list ends in a callback.
 */
export type Fit<F extends unknown[], P extends unknown[], C extends boolean> = FixedForms<F> extends
  infer G extends unknown[]
  ? (false extends (G extends unknown ? (number extends G["length"] ? false : true) : never) ? G
    : [Extract<G, { length: P["length"] }>] extends [never]
      ? ([LongestBelow<G, P>] extends [never] ? TooFew<Shortest<G>, P, C>
        : TooMany<LongestBelow<G, P>, P, C>)
    : {
      [I in keyof P]: Extract<G, { length: P["length"] }>[
        I & keyof Extract<G, { length: P["length"] }>
      ];
    })
  : never;

/**
 * More arguments `P` than the list `L` takes: its types, with {@linkcode ExtraArgument} for
 * each argument too many (before the callback, when `C` says the list ends in one, so that
 * the callback is still typed).
 */
export type TooMany<L extends unknown[], P extends unknown[], C extends boolean> = {
  [I in keyof P]: C extends true ? (I extends LastIndex<P> ? L[LastIndex<L> & keyof L]
      : I extends LastIndex<L> ? ExtraArgument
      : L[I & keyof L])
    : (I extends keyof L ? L[I] : ExtraArgument);
};

/**
 * Fewer arguments `P` than the list `L` takes: the list itself (an arity error, which names
 * what is missing), except with a callback (`C`), where the last argument given is checked as
 * a {@linkcode MissingArgument}, so that a callback there is typed and reported once.
 */
export type TooFew<L extends unknown[], P extends unknown[], C extends boolean> = C extends true
  ? (P extends [] ? L : {
    [I in keyof P]: I extends LastIndex<P>
      ? MissingArgument<L[I & keyof L], L[LastIndex<L> & keyof L]>
      : L[I & keyof L];
  })
  : L;
