/**
 * {@linkcode RawDuplex}: the ciphertext side of a TLS session, a Node `Duplex` over the
 * handle's byte transport for `node:tls` to read from and write to.
 *
 * @module
 */
import { Duplex } from "node:stream";
import type { Transport } from "../handle/transport.ts";

const READ_SIZE = 64 * 1024;

/**
 * A Node `Duplex` over a {@linkcode Transport}. It feeds `node:tls` first the bytes that were
 * read before TLS took the transport over (the start of the TLS stream that arrived with the
 * plaintext, and the result of a read that was in flight), then what it reads itself, once
 * the read in flight has settled: at most one read is ever pending on the transport.
 *
 * After {@linkcode RawDuplex.detach} (the TLS session ended with close_notify and the
 * connection goes back to plaintext) it stops feeding TLS, and what it reads from then on,
 * including a read that was in flight, is handed back as plaintext.
 */
export class RawDuplex extends Duplex {
  readonly #raw: Transport;
  readonly #early: Uint8Array[] = [];
  #earlyEof = false;
  readonly #readBarrier: Promise<unknown>;
  readonly #writeBarrier: Promise<unknown>;
  #pulling: Promise<Uint8Array | null> | undefined;
  #detached = false;
  #rawEnded = false;
  /** Whether `end()` leaves the transport's writing half open (stoptls). */
  keepRawOpen = false;

  /**
   * @param raw The transport that carries the ciphertext.
   * @param readBarrier Settles when the handle's last read on `raw` has been fed in.
   * @param writeBarrier Settles when the plaintext queued before TLS has been written.
   */
  constructor(raw: Transport, readBarrier: Promise<unknown>, writeBarrier: Promise<unknown>) {
    super({ allowHalfOpen: true });
    this.#raw = raw;
    this.#readBarrier = readBarrier.then(() => {}, () => {});
    this.#writeBarrier = writeBarrier.then(() => {}, () => {});
  }

  /** Whether the transport reached end of input under TLS. */
  get rawEnded(): boolean {
    return this.#rawEnded;
  }

  /**
   * Ciphertext read from the transport before TLS took it over.
   *
   * @param bytes The bytes, or `null` for end of input.
   */
  feed(bytes: Uint8Array | null): void {
    if (bytes === null) this.#earlyEof = true;
    else if (bytes.length > 0) this.#early.push(bytes);
  }

  /**
   * Stops feeding TLS. Resolves with what was read but not fed (bytes that followed the
   * close_notify in the same read, or `null` at end of input), after any read in flight.
   *
   * @returns The leftover bytes, in order, and whether end of input was reached.
   */
  async detach(): Promise<{ leftover: Uint8Array[]; eof: boolean }> {
    this.#detached = true;
    const leftover = this.#early.splice(0);
    let eof = this.#earlyEof;
    if (this.#pulling !== undefined) {
      try {
        const last = await this.#pulling;
        if (last === null) eof = true;
        else leftover.push(last);
      } catch { /* the next plaintext read reports it */ }
    }
    return { leftover, eof };
  }

  override _read(): void {
    if (this.#pulling !== undefined || this.#detached) return;
    const pulling = this.#pulling = this.#pull();
    pulling.then(
      (chunk) => {
        this.#pulling = undefined;
        if (this.#detached) return; // detach() takes the chunk
        if (chunk === null) this.#rawEnded = true;
        this.push(chunk);
      },
      (e) => {
        this.#pulling = undefined;
        if (!this.#detached) this.destroy(e);
      },
    );
  }

  async #pull(): Promise<Uint8Array | null> {
    await this.#readBarrier;
    const early = this.#early.shift();
    if (early !== undefined) return early;
    if (this.#earlyEof) return null;
    const buf = new Uint8Array(READ_SIZE);
    const n = await this.#raw.read(buf);
    return n === null ? null : buf.subarray(0, n);
  }

  override _write(chunk: Uint8Array, _enc: string, done: (e?: Error | null) => void): void {
    this.#writeAll(chunk).then(() => done(), (e) => done(e));
  }

  override _writev(
    chunks: { chunk: Uint8Array }[],
    done: (e?: Error | null) => void,
  ): void {
    const total = chunks.reduce((sum, c) => sum + c.chunk.length, 0);
    const joined = new Uint8Array(total);
    let at = 0;
    for (const { chunk } of chunks) {
      joined.set(chunk, at);
      at += chunk.length;
    }
    this.#writeAll(joined).then(() => done(), (e) => done(e));
  }

  async #writeAll(chunk: Uint8Array): Promise<void> {
    await this.#writeBarrier;
    for (let at = 0; at < chunk.length;) at += await this.#raw.write(chunk.subarray(at));
  }

  override _final(done: (e?: Error | null) => void): void {
    if (this.keepRawOpen) return done();
    this.#writeBarrier.then(() => this.#raw.closeWrite()).then(() => done(), (e) => done(e));
  }

  override _destroy(err: Error | null, done: (e?: Error | null) => void): void {
    done(err);
  }
}
