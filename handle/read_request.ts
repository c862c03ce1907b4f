/**
 * One entry of a handle's read queue.
 *
 * @module
 */
import type { Decoder } from "../base/decoder.ts";
import { CallbackSink, NO_CONSUMER, type ReadSink } from "./read_sink.ts";
import type { ReadType } from "../base/codec.ts";

/**
 * How a typed read's decoder makes its value and how the sink gets it:
 * - `"value"`: `decode`'s value, handed over as it is;
 * - `"tuple"`: `decode`'s tuple (a type that spreads): a callback gets its elements as
 *   arguments, a promise read or an iterator step the first;
 * - `"first"`: the tuple's first element alone, from `decodeFirst` (a promise read or an
 *   iterator step of a type that spreads): no tuple is made;
 * - `"pair"`: `decodeFirst` and `lastSecond` (a callback of a type whose tuples are pairs,
 *   such as `line`): the callback gets both as arguments, and no tuple is made.
 */
export type ValueShape = "value" | "tuple" | "first" | "pair";

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
  /** How the decoder makes the value and the sink takes it (`"value"` for a custom reader). */
  readonly shape: ValueShape;

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
    this.shape = shapeOf(readType, decoder, sink, firstOnly);
  }

  /** The read type's name, for messages. */
  get type(): string {
    return this.readType?.typeName ?? "custom";
  }
}

/** The cheapest {@linkcode ValueShape} a read's decoder and sink allow. */
function shapeOf<H>(
  readType: ReadType<never, unknown, boolean, H> | undefined,
  decoder: Decoder<unknown> | undefined,
  sink: ReadSink<H>,
  firstOnly: boolean,
): ValueShape {
  if (readType === undefined || !readType.spread) return "value";
  // A read type's own action takes the tuple.
  if (decoder?.decodeFirst === undefined || readType.act !== undefined) return "tuple";
  if (firstOnly) return "first";
  // At end of input `decodeEof` makes a tuple, so a decoder that has one keeps tuples.
  const pairs = decoder.lastSecond !== undefined && decoder.decodeEof === undefined;
  return pairs && sink instanceof CallbackSink ? "pair" : "tuple";
}
