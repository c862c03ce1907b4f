/**
 * The contract between the handle's read loop and a read type.
 *
 * @module
 */
import type { ReadBuffer } from "./buffer.ts";

/**
 * What a decoder returns when the buffer does not hold a whole frame yet. A unique symbol,
 * so that `null`, `undefined` and empty values stay ordinary results; the same in every copy
 * of the package.
 *
 * @example Checking for NEED_MORE
 * ```ts
 * import { chunkDecoder, NEED_MORE, ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new Uint8Array([1, 2]));
 * assert.equal(chunkDecoder(3).decode(buf), NEED_MORE);
 * assert.equal(buf.length, 2); // nothing was consumed
 * ```
 */
export const NEED_MORE: unique symbol = Symbol.for("@anyevent/handle.NEED_MORE");

/** The type of {@linkcode NEED_MORE}. */
export type NeedMore = typeof NEED_MORE;

/**
 * Turns the bytes at the front of a {@linkcode ReadBuffer} into one value.
 *
 * `decode` either consumes exactly one frame and returns its value, or returns
 * {@linkcode NEED_MORE} having consumed nothing, or throws a `HandleError`. It may keep a
 * little state to resume a scan (stored as absolute positions, see
 * `ReadBuffer.consumedTotal`), and after returning a value it is ready for the next frame.
 * It never performs I/O and never calls a callback.
 *
 * @typeParam T The decoded value (a readonly tuple for read types registered with
 * `spread: true`).
 *
 * @example A decoder for one byte
 * ```ts
 * import { type Decoder, NEED_MORE, ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const oneByte: Decoder<number> = {
 *   decode(buf) {
 *     if (buf.length === 0) return NEED_MORE;
 *     const b = buf.at(0)!;
 *     buf.consume(1);
 *     return b;
 *   },
 * };
 * const buf = new ReadBuffer();
 * buf.append(new Uint8Array([7]));
 * assert.equal(oneByte.decode(buf), 7);
 * ```
 */
export interface Decoder<T> {
  /**
   * Decodes one frame from the front of `buf`.
   *
   * @param buf The handle's read buffer.
   * @returns The value, or `NEED_MORE` with nothing consumed.
   */
  decode(buf: ReadBuffer): T | NeedMore;
  /**
   * Called instead of `decode` once the input has ended, so a frame that ends at end of input
   * can be delivered. Without it `decode` is used, and `NEED_MORE` at end of input is an
   * `EPIPE` error.
   *
   * @param buf The handle's read buffer.
   * @returns The value, or `NEED_MORE` with nothing consumed.
   */
  decodeEof?(buf: ReadBuffer): T | NeedMore;
  /**
   * For a decoder whose values are tuples spread into a callback's arguments (`line` gives
   * `[line, eol]`): decodes one frame exactly as `decode` does (the same bytes consumed, the
   * same errors) but returns only the tuple's first element, which is all a promise read or an
   * iterator step delivers, so no tuple is made per frame. Without it the handle calls
   * `decode` and takes the first element.
   *
   * @param buf The handle's read buffer.
   * @returns The tuple's first element, or `NEED_MORE` with nothing consumed.
   */
  decodeFirst?(buf: ReadBuffer): unknown;
  /**
   * For a decoder with `decodeFirst` whose tuples are pairs (`line`: `[line, eol]`): the
   * second element of the frame `decodeFirst` last returned. With it (and without
   * `decodeEof`), a callback read gets both elements as its arguments and no tuple is made
   * per frame.
   *
   * @returns The pair's second element.
   */
  lastSecond?(): unknown;
  /**
   * Whether `decode` may consume bytes and still return `NEED_MORE` (a decoder discarding an
   * over-long frame). Without it the handle treats that as a broken contract (`EINVAL`).
   * `decodeEof` may always consume trailing padding (such as whitespace) and return
   * `NEED_MORE`.
   */
  readonly skips?: boolean;
  /**
   * How many more bytes the frame at the front of `buf` needs for certain (a chunk's missing
   * bytes, a payload whose length is known), or 0 if that is not known. When it is large, the
   * handle reads those bytes straight into one array of the frame's size, so that
   * `buf.take()` of the whole frame copies nothing.
   *
   * @param buf The handle's read buffer, after `decode` returned `NEED_MORE`.
   * @returns The bytes still missing.
   */
  readHint?(buf: ReadBuffer): number;
  /**
   * After `decode` threw a non-fatal error and left part of the bad frame unread (a discarding
   * line decoder in the middle of an over-long line), consumes what of it is buffered; returns
   * true once all of it is gone. The handle calls it when the read that got the error was a
   * promise read (rejected at once), so the next reader never sees the rest of the bad frame.
   *
   * @param buf The handle's read buffer.
   * @returns Whether the bad frame has been skipped entirely.
   */
  finishSkip?(buf: ReadBuffer): boolean;
}
