/**
 * {@linkcode WriteQueue}: the bytes a handle has been asked to write and has not yet handed
 * to the transport.
 *
 * @module
 */

/** Chunks at least this long are written on their own instead of being coalesced. */
const COALESCE_BELOW = 16 * 1024;
/** The largest buffer small chunks are coalesced into. */
const COALESCE_LIMIT = 64 * 1024;

/**
 * An ordered queue of byte chunks. The writer takes a batch at a time: a large chunk as it is,
 * or several small ones copied into one buffer so that many small writes cost one system call.
 * Bytes of a batch that the transport accepted only in part stay with the writer ("in flight"),
 * so `unshift` always goes after them and the byte order on the wire is the queue order.
 */
export class WriteQueue {
  #chunks: Uint8Array[] = [];
  #head = 0;
  #queued = 0;
  #inFlight = 0;

  /** Bytes not yet accepted by the transport: queued plus in flight. */
  get pending(): number {
    return this.#queued + this.#inFlight;
  }

  /** Bytes queued and not yet handed to the writer. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * Appends bytes at the end of the queue.
   *
   * @param bytes Bytes the queue now owns.
   */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#chunks.push(bytes);
    this.#queued += bytes.length;
  }

  /**
   * Puts bytes in front of everything not yet handed to the writer.
   *
   * @param bytes Bytes the queue now owns.
   */
  unshift(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.#head > 0) this.#chunks[--this.#head] = bytes;
    else this.#chunks.unshift(bytes);
    this.#queued += bytes.length;
  }

  /**
   * Hands the next batch to the writer; its bytes count as in flight until `written`.
   *
   * @returns The batch, or `undefined` when nothing is queued.
   */
  takeBatch(): Uint8Array | undefined {
    const chunks = this.#chunks;
    if (this.#head === chunks.length) return undefined;
    let batch = chunks[this.#head];
    if (batch.length < COALESCE_BELOW && this.#head + 1 < chunks.length) {
      let total = 0;
      let end = this.#head;
      while (end < chunks.length && total + chunks[end].length <= COALESCE_LIMIT) {
        total += chunks[end++].length;
      }
      if (end - this.#head > 1) {
        batch = new Uint8Array(total);
        let at = 0;
        for (let i = this.#head; i < end; i++) {
          batch.set(chunks[i], at);
          at += chunks[i].length;
          chunks[i] = undefined!;
        }
        this.#head = end;
      } else {
        chunks[this.#head++] = undefined!;
      }
    } else {
      chunks[this.#head++] = undefined!;
    }
    if (this.#head === chunks.length) {
      chunks.length = 0;
      this.#head = 0;
    }
    this.#queued -= batch.length;
    this.#inFlight += batch.length;
    return batch;
  }

  /**
   * Records that the transport accepted `n` bytes of the batch in flight.
   *
   * @param n Bytes written.
   */
  written(n: number): void {
    this.#inFlight -= n;
  }

  /** Drops everything, queued and in flight. */
  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#queued = 0;
    this.#inFlight = 0;
  }
}
