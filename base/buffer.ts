/**
 * {@linkcode ReadBuffer}: the bytes a handle has read and no reader has consumed yet.
 *
 * @module
 */

const INITIAL_CAPACITY = 4096;
/** Above this capacity an empty or nearly empty buffer gives its memory back. */
const KEEP_CAPACITY = 256 * 1024;
/** Above this capacity an empty buffer asked for a small region gives its memory back. */
const SHRINK_ABOVE = 16 * 1024;
/** Spans up to this length are checked for ASCII and built without TextDecoder. */
const ASCII_FAST_PATH = 24;

const EMPTY = new Uint8Array(0);

/** Frames at least this long are read straight into an array of their own (see `reserveFrame`). */
export const DIRECT_FRAME = 16 * 1024;

/**
 * A shared slab that short `take` copies are carved from, as Node's `Buffer` pool: a new
 * ArrayBuffer per copy costs far more than the copy (about 1 us for 16 bytes, 4 us for 4 KiB
 * on the 2-core build machine, most of it the engine's bookkeeping of each buffer and the
 * collections that bookkeeping triggers); a view of a slab costs tens of nanoseconds.
 */
class Slab {
  #bytes: Uint8Array = EMPTY;
  #buffer: ArrayBufferLike = EMPTY.buffer;
  readonly #size: number;
  /** Where the next copy goes; the first copy, even of nothing, makes the slab. */
  #offset = Infinity;

  constructor(size: number) {
    this.#size = size;
  }

  /** A copy of `src[from, from + n)` in this slab (a fresh slab when the current one is full). */
  copy(src: Uint8Array, from: number, n: number): Uint8Array {
    let bytes = this.#bytes;
    let at = this.#offset;
    if (at + n > this.#size) {
      bytes = this.#bytes = new Uint8Array(this.#size);
      this.#buffer = bytes.buffer;
      at = 0;
    }
    this.#offset = at + n;
    if (n <= TINY_COPY) {
      // Byte by byte: cheaper than the view of the source that `set` needs.
      for (let i = 0; i < n; i++) bytes[at + i] = src[from + i];
    } else {
      bytes.set(src.subarray(from, from + n), at);
    }
    return new Uint8Array(this.#buffer, at, n);
  }
}

/** Copies up to this long are made byte by byte (see `Slab.copy`). */
const TINY_COPY = 32;
/** Takes up to this many bytes come from the small slab (64 KiB), as they always did. */
const SMALL_TAKE = 1024;
/** Takes up to this many bytes (Node pools up to 4 KiB too) come from a 256 KiB slab. */
const POOLED_TAKE = 4096;
const small = new Slab(64 * 1024);
const medium = new Slab(256 * 1024);

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * The read buffer of a handle (`h.rbuf`): one growable `Uint8Array` holding the live bytes
 * between a start and an end offset.
 *
 * Readers look at the bytes from the front (`at`, `indexOf`, `view`, `text`) and remove what
 * they used with `consume` or `take`. Consuming only moves the start offset; the live bytes are
 * moved down (compacted) when at least as many bytes have been consumed as would be copied, and
 * the array doubles when full, so every byte is copied O(1) times on average. A buffer that
 * empties gives a large array back, so an idle handle holds little memory.
 *
 * Views (`bytes`, `view`) share memory with the buffer and are valid only until the next
 * change; `take` returns an owned copy.
 *
 * @example Consuming a line by hand
 * ```ts
 * import { ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new TextEncoder().encode("hello\nworld"));
 * const eol = buf.indexOf(0x0a);
 * assert.equal(buf.text(0, eol), "hello");
 * buf.consume(eol + 1);
 * assert.equal(buf.text(), "world");
 * assert.equal(buf.consumedTotal, 6);
 * ```
 */
export class ReadBuffer {
  #buf: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  #consumedTotal = 0;
  #generation = 0;
  #bytesScanned = 0;

  /** The number of live (unconsumed) bytes. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** The size of the backing array, for tests and memory accounting. */
  get capacity(): number {
    return this.#buf.length;
  }

  /**
   * The absolute stream position of the first live byte: how many bytes were consumed since
   * the handle started. Decoders store scan positions in this coordinate, so a position stays
   * valid when another reader consumes bytes in front of it.
   */
  get consumedTotal(): number {
    return this.#consumedTotal;
  }

  /**
   * A number that changes whenever the buffer's bytes stop being a continuation of the bytes
   * before (for example when TLS starts and the buffer is handed to it). Decoders that keep
   * scan state reset it when the generation differs.
   */
  get generation(): number {
    return this.#generation;
  }

  /** How many bytes `indexOf` has examined in total: evidence that scans are linear. */
  get bytesScanned(): number {
    return this.#bytesScanned;
  }

  /**
   * The live bytes, as a view that shares memory with the buffer.
   *
   * @returns A view valid until the buffer next changes.
   */
  bytes(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  /**
   * A view of live bytes `from` (inclusive) to `to` (exclusive), relative to the first live
   * byte, clamped to the live bytes.
   *
   * @param from Start offset.
   * @param to End offset.
   * @returns A view valid until the buffer next changes.
   */
  view(from = 0, to: number = this.length): Uint8Array {
    const start = this.#start;
    return this.#buf.subarray(start + from, start + Math.min(to, this.length));
  }

  /**
   * The live byte at offset `i`.
   *
   * @param i Offset from the first live byte.
   * @returns The byte, or `undefined` past the live bytes.
   */
  at(i: number): number | undefined {
    return i >= 0 && i < this.length ? this.#buf[this.#start + i] : undefined;
  }

  /**
   * Finds a byte or a byte sequence among the live bytes, searching only `[from, to)`.
   *
   * Unlike `Uint8Array.prototype.indexOf` on the backing array, the search never runs past the
   * live bytes, so resuming a search over a growing buffer stays linear. A sequence is found
   * even when it straddles `to` only if it ends before `to`.
   *
   * @param needle A byte value or a non-empty byte sequence.
   * @param from Offset to start at.
   * @param to Offset to stop at (exclusive).
   * @returns The offset of the first match, or -1.
   */
  indexOf(needle: number | Uint8Array, from = 0, to: number = this.length): number {
    if (to > this.length) to = this.length;
    if (from < 0) from = 0;
    if (from >= to) return -1;
    const base = this.#start;
    const span = this.#buf.subarray(base + from, base + to);
    if (typeof needle === "number") {
      const i = span.indexOf(needle);
      this.#bytesScanned += i < 0 ? to - from : i + 1;
      return i < 0 ? -1 : i + from;
    }
    return this.#indexOfSequence(span, needle, from);
  }

  /**
   * Finds the last occurrence of a byte among live bytes `[from, to)`.
   *
   * @param byte The byte value.
   * @param from Offset to start at.
   * @param to Offset to stop at (exclusive).
   * @returns The offset of the last match, or -1.
   */
  lastIndexOf(byte: number, from = 0, to: number = this.length): number {
    if (to > this.length) to = this.length;
    if (from < 0) from = 0;
    if (from >= to) return -1;
    const i = this.#buf.subarray(this.#start + from, this.#start + to).lastIndexOf(byte);
    this.#bytesScanned += i < 0 ? to - from : to - from - i;
    return i < 0 ? -1 : i + from;
  }

  #indexOfSequence(span: Uint8Array, needle: Uint8Array, from: number): number {
    const first = needle[0];
    const last = span.length - needle.length;
    let i = 0;
    while (i <= last) {
      const j = span.indexOf(first, i);
      if (j < 0 || j > last) break;
      let k = 1;
      while (k < needle.length && span[j + k] === needle[k]) k++;
      if (k === needle.length) {
        this.#bytesScanned += j + needle.length;
        return j + from;
      }
      i = j + 1;
    }
    this.#bytesScanned += span.length;
    return -1;
  }

  /**
   * Decodes live bytes `[from, to)` as UTF-8 (invalid sequences become U+FFFD; a byte order
   * mark is kept as a character, so the text is the same however the bytes were split).
   *
   * @param from Start offset.
   * @param to End offset.
   * @returns The decoded text.
   */
  text(from = 0, to: number = this.length): string {
    if (to > this.length) to = this.length;
    const n = to - from;
    if (n <= 0) return "";
    const buf = this.#buf;
    const start = this.#start + from;
    if (n <= ASCII_FAST_PATH) {
      let ascii = true;
      for (let i = start; i < start + n; i++) {
        if (buf[i] > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) return String.fromCharCode.apply(null, buf.subarray(start, start + n) as never);
    }
    return utf8.decode(buf.subarray(start, start + n));
  }

  /**
   * Drops the first `n` live bytes.
   *
   * @param n How many bytes to drop.
   * @throws {RangeError} If `n` is negative or more than `length`.
   */
  consume(n: number): void {
    if (!(Number.isInteger(n) && n >= 0 && n <= this.length)) {
      throw new RangeError(`Cannot consume ${n} bytes: only ${this.length} are buffered`);
    }
    this.#drop(n);
  }

  /** Drops the first `n` live bytes, `n` checked by the caller. */
  #drop(n: number): void {
    this.#start += n;
    this.#consumedTotal += n;
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      if (this.#buf.length > KEEP_CAPACITY) this.#buf = EMPTY;
    }
  }

  /**
   * Removes the first `n` live bytes and returns them as an owned copy: no other code writes to
   * the returned bytes. Like Node's `Buffer` pool, a copy of up to 4 KiB is a view into a
   * shared pool (64 KiB for copies of up to 1 KiB, else 256 KiB: allocating an `ArrayBuffer`
   * per small frame would dominate the cost of small frames), so its `.buffer` is larger than
   * the copy and keeps that pool alive; use `.slice()` on it for a standalone `ArrayBuffer`.
   *
   * @param n How many bytes to take.
   * @returns A new array the caller may keep.
   * @throws {RangeError} If `n` is negative or more than `length`.
   */
  take(n: number): Uint8Array {
    if (!(Number.isInteger(n) && n >= 0 && n <= this.length)) {
      throw new RangeError(`Cannot take ${n} bytes: only ${this.length} are buffered`);
    }
    const buf = this.#buf;
    if (n >= DIRECT_FRAME && this.#start === 0 && n === this.#end && buf.length === n) {
      // The array holds exactly this frame (`reserveFrame`): hand it over, no copy.
      this.#buf = EMPTY;
      this.#start = this.#end = 0;
      this.#consumedTotal += n;
      return buf;
    }
    const out = n <= SMALL_TAKE
      ? small.copy(buf, this.#start, n)
      : n <= POOLED_TAKE
      ? medium.copy(buf, this.#start, n)
      : buf.slice(this.#start, this.#start + n);
    this.#drop(n);
    return out;
  }

  /**
   * Appends a copy of `bytes` after the live bytes.
   *
   * @param bytes The bytes to append.
   */
  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#ensureSpace(bytes.length);
    this.#buf.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /**
   * Returns a writable region of at least `n` bytes after the live bytes, for a read to fill
   * without an extra copy; {@linkcode ReadBuffer.commit} makes the bytes live. An empty buffer
   * whose array is over 16 KiB and at least four times `n` lets that array go first, so a
   * small read waiting on an idle connection does not keep what a past burst needed.
   *
   * @param n The size of the region.
   * @returns A view of spare capacity.
   */
  reserve(n: number): Uint8Array {
    // An empty buffer grown far beyond what is asked for gives that memory back: an idle
    // handle's pending read then holds what it reads into, not what a past burst needed.
    if (this.#end === 0 && this.#buf.length > SHRINK_ABOVE && n * 4 <= this.#buf.length) {
      this.#buf = EMPTY;
    }
    this.#ensureSpace(n);
    const buf = this.#buf;
    // An empty buffer of exactly that size is the region itself: no view to allocate.
    if (this.#end === 0 && buf.length === n) return buf;
    return buf.subarray(this.#end, this.#end + n);
  }

  /**
   * Like {@linkcode ReadBuffer.reserve}, for the rest of one frame whose size is known: the
   * live bytes move to the start of an array of exactly `length + n` bytes (unless they are
   * there already), so that once the frame is complete `take` hands that array over instead
   * of copying it. Fill it and `commit` as with `reserve`.
   *
   * @param n The bytes still missing from the frame.
   * @returns The region to read into.
   *
   * @example Reading a frame straight into the array that is taken
   * ```ts
   * import { ReadBuffer } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const buf = new ReadBuffer();
   * buf.append(new Uint8Array(16).fill(1));
   * const region = buf.reserveFrame(32 * 1024 - 16);
   * region.fill(2);
   * buf.commit(region, region.length);
   * const frame = buf.take(32 * 1024);
   * assert.equal(frame.length, 32 * 1024);
   * assert.equal(frame[0], 1);
   * assert.equal(frame[16], 2);
   * assert.equal(buf.length, 0);
   * ```
   */
  reserveFrame(n: number): Uint8Array {
    const live = this.length;
    const buf = this.#buf;
    if (this.#start !== 0 || buf.length !== live + n) {
      const next = new Uint8Array(live + n);
      next.set(buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#start = 0;
      this.#end = live;
    }
    return this.#buf.subarray(this.#end);
  }

  /**
   * Makes the first `n` bytes of a region returned by `reserve` live. If the buffer changed
   * since `reserve` (bytes consumed, memory given back), the bytes are copied instead.
   *
   * @param region The region `reserve` returned.
   * @param n How many bytes were written into it.
   */
  commit(region: Uint8Array, n: number): void {
    if (n <= 0) return;
    if (
      region.buffer === this.#buf.buffer &&
      region.byteOffset === this.#buf.byteOffset + this.#end &&
      this.#end + n <= this.#buf.length
    ) {
      this.#end += n;
    } else {
      this.append(region.subarray(0, n));
    }
  }

  /**
   * Removes every live byte and returns them as an owned copy, starting a new generation: what
   * follows is not a continuation of what was before (used when TLS takes over the stream).
   *
   * @returns The bytes that were live.
   */
  takeAll(): Uint8Array {
    const out = this.take(this.length);
    this.#generation++;
    return out;
  }

  #ensureSpace(n: number): void {
    const capacity = this.#buf.length;
    if (capacity - this.#end >= n) return;
    const live = this.#end - this.#start;
    const needed = live + n;
    if (capacity > KEEP_CAPACITY && needed * 4 <= capacity) {
      this.#moveTo(new Uint8Array(Math.max(INITIAL_CAPACITY, needed * 2)));
    } else if (needed * 2 <= capacity || (needed <= capacity && this.#start >= live)) {
      // Either half the array stays free after the move, or the move is paid for by the
      // `start >= live` bytes consumed since the last one: O(1) copies per byte either way.
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#start = 0;
      this.#end = live;
    } else {
      // The first array is exactly what is asked for (an idle handle's one pending read);
      // later ones at least double, so growth stays amortized O(1) per byte.
      let size = capacity === 0 ? needed : Math.max(INITIAL_CAPACITY, capacity * 2);
      while (size < needed) size *= 2;
      this.#moveTo(new Uint8Array(size));
    }
  }

  #moveTo(next: Uint8Array): void {
    const live = this.#end - this.#start;
    next.set(this.#buf.subarray(this.#start, this.#end));
    this.#buf = next;
    this.#start = 0;
    this.#end = live;
  }
}
