/**
 * One entry of a handle's read queue.
 *
 * @module
 */
import type { Decoder } from "../base/decoder.ts";
import type { HandleError } from "../base/errors.ts";
import type { ReadType } from "../base/codec.ts";

/** A callback of a typed read, as the queue calls it. */
export type QueuedCallback<H> = (h: H, ...values: unknown[]) => void;

/**
 * A queued read: a decoder (typed reads) or a custom reader function, and where its result
 * goes: a callback, or the settle functions of a promise or an iterator step.
 *
 * @typeParam H The handle its callbacks receive.
 */
export class ReadRequest<H> {
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

  constructor(
    /** The read type of a typed read. */
    readonly readType: ReadType<never, unknown, boolean, H> | undefined,
    /** The decoder of a typed read. */
    readonly decoder: Decoder<unknown> | undefined,
    /** The function of a custom reader. */
    readonly custom: ((h: H) => boolean) | undefined,
    /** The callback of a callback read. */
    readonly callback: QueuedCallback<H> | undefined,
  ) {}

  /** The read type's name, for messages. */
  get type(): string {
    return this.readType?.typeName ?? "custom";
  }
}
