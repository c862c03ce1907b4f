/**
 * One entry of a handle's read queue.
 *
 * @module
 */
import type { Decoder } from "../codecs/decoder.ts";
import type { HandleError } from "./errors.ts";

/**
 * A queued read: a decoder (typed reads) or a custom reader function, and where its result
 * goes: a callback, or the settle functions of a promise or an iterator step.
 */
export class ReadRequest {
  /** Resolves a promise read or an iterator step with the decoded value. */
  resolve: ((value: unknown) => void) | undefined = undefined;
  /** Rejects a promise read or an iterator step. */
  reject: ((err: HandleError) => void) | undefined = undefined;
  /** Ends an iterator cleanly: set only on iterator steps, which may end at end of input. */
  end: (() => void) | undefined = undefined;

  constructor(
    /** The read type's name, for error messages. */
    readonly type: string,
    /** The decoder of a typed read. */
    readonly decoder: Decoder<unknown> | undefined,
    /** The function of a custom reader. */
    // deno-lint-ignore no-explicit-any
    readonly custom: ((h: any) => boolean) | undefined,
    /** Whether the decoded tuple is spread into the callback. */
    readonly spread: boolean,
    /** The callback of a callback read. */
    // deno-lint-ignore no-explicit-any
    readonly callback: ((h: any, ...values: unknown[]) => void) | undefined,
  ) {}
}
