/**
 * One entry of a handle's read queue.
 *
 * @module
 */
import type { Decoder } from "../base/decoder.ts";
import { NO_CONSUMER, type ReadSink } from "./read_sink.ts";
import type { ReadType } from "../base/codec.ts";

/**
 * A queued read: a decoder (typed reads) or a custom reader function, and the
 * {@linkcode ReadSink} its value goes to.
 *
 * @typeParam H The handle its callbacks receive.
 */
export class ReadRequest<H> {
  /**
   * The arguments the decoder of a callback read was made from, when each is a value that
   * cannot change (a string, number, boolean, `undefined` or RegExp): once this request is
   * delivered, the next read of the same type with the same arguments may take the decoder
   * over (a decoder that returned a value is ready for the next frame), saving its making per
   * frame. `undefined`: not reusable.
   */
  args: readonly unknown[] | undefined = undefined;
  /**
   * Whether the decoder's `decodeFirst` makes the value: a promise read or an iterator step of
   * a type that spreads delivers the tuple's first element alone, and no tuple is made.
   */
  readonly first: boolean;
  /** Whether the value handed to the sink is a tuple to spread. */
  readonly spread: boolean;

  constructor(
    /** The read type of a typed read. */
    readonly readType: ReadType<never, unknown, boolean, H> | undefined,
    /** The decoder of a typed read. */
    readonly decoder: Decoder<unknown> | undefined,
    /** The function of a custom reader. */
    readonly custom: ((h: H) => boolean) | undefined,
    /** Where the value goes (a custom reader has none of its own). */
    readonly sink: ReadSink<H> = NO_CONSUMER,
    /** Whether only the first element of a spread tuple is wanted (`read`, `iterate`). */
    firstOnly = false,
  ) {
    const spread = readType?.spread ?? false;
    this.first = firstOnly && spread && decoder?.decodeFirst !== undefined &&
      readType!.act === undefined;
    this.spread = spread && !this.first;
  }

  /** The read type's name, for messages. */
  get type(): string {
    return this.readType?.typeName ?? "custom";
  }
}
