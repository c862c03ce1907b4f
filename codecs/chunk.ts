/**
 * The `chunk` read type: exactly `n` bytes.
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";
import { type Decoder, NEED_MORE, type NeedMore } from "../base/decoder.ts";
import { defineReadType, type ReadType } from "../base/codec.ts";

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

/** The type of {@linkcode chunk}. */
export type ChunkType = ReadType<[length: number], Uint8Array, false>;

/**
 * The `chunk` read type: `h.pushRead(chunk, n, (h, bytes) => ...)`, `await h.read(chunk(n))`:
 * exactly `n` bytes.
 *
 * @example Reading a length-prefixed payload
 * ```ts
 * import { chunk, Handle } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const peer = listener.accept().then(async (conn) => {
 *   await conn.write(new Uint8Array([2, 0xca, 0xfe]));
 *   return conn;
 * });
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * const [length] = await h.read(chunk(1));
 * assert.deepEqual(await h.read(chunk, length), new Uint8Array([0xca, 0xfe]));
 * h.destroy();
 * (await peer).close();
 * listener.close();
 * ```
 */
export const chunk: ChunkType = defineReadType(
  "chunk",
  (_settings, length: number) => chunkDecoder(length),
  { maxArgs: 1 },
);
