/**
 * A {@linkcode Transport} over a Web `ReadableStream` / `WritableStream` pair.
 *
 * @module
 */
import type { Transport } from "../base/transport.ts";

/**
 * Reads from a `ReadableStream<Uint8Array>` (keeping the rest of a chunk larger than the read
 * for the next read) and writes to a `WritableStream<Uint8Array>` (each write waits for the
 * stream to accept it, which is the stream's backpressure). `closeWrite` closes the writable
 * side; `close` cancels the readable and aborts the writable.
 */
export class StreamTransport implements Transport {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #rest: Uint8Array | undefined;
  #closed = false;
  #writerClosed = false;

  /**
   * @param readable Where bytes come from.
   * @param writable Where bytes go.
   */
  constructor(readable: ReadableStream<Uint8Array>, writable: WritableStream<Uint8Array>) {
    this.#reader = readable.getReader();
    this.#writer = writable.getWriter();
    this.#writer.closed.catch(() => {});
  }

  async read(p: Uint8Array): Promise<number | null> {
    let chunk = this.#rest;
    this.#rest = undefined;
    while (chunk === undefined || chunk.length === 0) {
      const { value, done } = await this.#reader.read();
      if (done) return null;
      chunk = value;
    }
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#rest = chunk.subarray(n);
    return n;
  }

  async write(p: Uint8Array): Promise<number> {
    await this.#writer.ready;
    // A stream may hand the chunk on as it is (a TransformStream does): give it its own copy,
    // since the write queue fills `p` again once this resolves.
    await this.#writer.write(p.slice());
    return p.length;
  }

  async closeWrite(): Promise<void> {
    if (this.#writerClosed) return;
    this.#writerClosed = true;
    await this.#writer.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader.cancel().catch(() => {});
    if (!this.#writerClosed) this.#writer.abort().catch(() => {});
  }
}
