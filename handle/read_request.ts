/**
 * One entry of a handle's read queue.
 *
 * @module
 */
import type { Decoder } from "../codecs/decoder.ts";
import type { HandleError } from "./errors.ts";
import type { ReadTypeEntry } from "../codecs/registry.ts";

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
  /**
   * Whether the decoder was made without arguments for a callback read: once this request is
   * delivered, the next such read of the same type may take the decoder over (a decoder that
   * returned a value is ready for the next frame), saving an allocation per frame.
   */
  reusable = false;
  /** The read type's action on the handle, run before the value is delivered. */
  // deno-lint-ignore no-explicit-any
  act: ((h: any, value: unknown, decoder: Decoder<unknown>) => void) | undefined = undefined;

  /**
   * A typed read of a registered read type.
   *
   * @param entry The read type.
   * @param decoder This read's decoder.
   * @param callback The callback, or `undefined` for a promise read or an iterator step.
   * @returns The entry.
   */
  static typed(
    entry: ReadTypeEntry,
    decoder: Decoder<unknown>,
    // deno-lint-ignore no-explicit-any
    callback?: (h: any, ...values: unknown[]) => void,
  ): ReadRequest {
    const request = new ReadRequest(entry.name, decoder, undefined, entry.spread, callback);
    request.act = entry.act;
    return request;
  }

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
