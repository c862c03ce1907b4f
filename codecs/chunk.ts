/**
 * The `chunk` read type: exactly `n` bytes.
 *
 * @module
 */
import type { ReadBuffer } from "../handle/buffer.ts";
import { type Decoder, NEED_MORE, type NeedMore } from "./decoder.ts";
import { registerReadType } from "./registry.ts";

/**
 * Makes a decoder that delivers exactly `length` bytes as an owned `Uint8Array` once they are
 * buffered. `length` 0 delivers an empty array at once. O(1) per attempt; it holds at most
 * `length` bytes (the handle's `rbufMax` bounds what is buffered while waiting).
 *
 * ```text
 * +---------- length bytes ----------+
 * | payload (delivered as is)        | next frame ...
 * +----------------------------------+
 * ```
 *
 * @param length The number of bytes to read.
 * @returns A decoder of `Uint8Array`.
 * @throws {RangeError} If `length` is not a non-negative safe integer.
 *
 * @example Reading four bytes
 * ```ts
 * import { chunkDecoder, NEED_MORE, ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * const four = chunkDecoder(4);
 * buf.append(new Uint8Array([1, 2, 3]));
 * assert.equal(four.decode(buf), NEED_MORE);
 * buf.append(new Uint8Array([4, 5]));
 * assert.deepEqual(four.decode(buf), new Uint8Array([1, 2, 3, 4]));
 * assert.equal(buf.length, 1);
 * ```
 */
export function chunkDecoder(length: number): Decoder<Uint8Array> {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(
      `Cannot read a chunk of length "${length}": expected a non-negative integer`,
    );
  }
  return {
    decode(buf: ReadBuffer): Uint8Array | NeedMore {
      return buf.length >= length ? buf.take(length) : NEED_MORE;
    },
    readHint: (buf: ReadBuffer) => length - buf.length,
  };
}

registerReadType("chunk", chunkDecoder);

declare module "./registry.ts" {
  interface ReadTypes {
    /** `pushRead("chunk", n, (h, bytes) => ...)`: exactly `n` bytes. */
    chunk: { args: [length: number]; values: [bytes: Uint8Array] };
  }
}
