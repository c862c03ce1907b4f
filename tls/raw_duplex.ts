/**
 * {@linkcode RawDuplex}: the ciphertext side of a TLS session, a Node `Duplex` over the
 * handle's byte transport for `node:tls` to read from and write to.
 *
 * @module
 */
import { Duplex } from "node:stream";
import type { Transport } from "../base/transport.ts";
import { NEED_MORE } from "../base/decoder.ts";
import { fatalAlert, recordPrefix } from "./records.ts";

const READ_SIZE = 64 * 1024;
const EMPTY = new Uint8Array(0);
/** Event-loop turns given to TLS to act on a close_notify before bytes that follow it. */
const SETTLE_TURNS = 3;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** What the duplex reports to its session. */
export interface RawDuplexEvents {
  /**
   * After this side's close_notify, the peer sent bytes that are not a TLS record: it has
   * gone back to plaintext. Those bytes wait for {@linkcode RawDuplex.detach}.
   */
  plaintextAfterStop(): void;
}

/**
 * A Node `Duplex` over a {@linkcode Transport}. It feeds `node:tls` first the bytes that were
 * read before TLS took the transport over (the start of the TLS stream that arrived with the
 * plaintext, and the result of a read that was in flight), then what it reads itself, once
 * the read in flight has settled: at most one read is ever pending on the transport.
 *
 * It feeds whole TLS records only. Bytes that do not start a record are held back for one
 * macrotask, so that a close_notify fed just before them can end the session first: then
 * they are plaintext that followed the close_notify, and {@linkcode RawDuplex.detach} hands
 * them back; otherwise they go to TLS, which reports them as a protocol error.
 */
export class RawDuplex extends Duplex {
  readonly #raw: Transport;
  readonly #events: RawDuplexEvents;
  readonly #early: Uint8Array[] = [];
  /** End of input was fed in, or read. */
  #eof = false;
  readonly #readBarrier: Promise<unknown>;
  readonly #writeBarrier: Promise<unknown>;
  #pulling: Promise<Uint8Array | null> | undefined;
  /** Bytes read and not yet fed: a partial record, or bytes held back. */
  #pending: Uint8Array = EMPTY;
  #detached = false;
  #rawEnded = false;
  #received = 0;
  #stopped = false;
  /** Why reading the transport failed (a reset), if it did. */
  #rawError: unknown = undefined;
  /** Whether `end()` leaves the transport's writing half open (stoptls). */
  keepRawOpen = false;

  /**
   * @param raw The transport that carries the ciphertext.
   * @param events Where a peer's return to plaintext is reported.
   * @param readBarrier Settles when the handle's last read on `raw` has been fed in.
   * @param writeBarrier Settles when the plaintext queued before TLS has been written.
   */
  constructor(
    raw: Transport,
    events: RawDuplexEvents,
    readBarrier: Promise<unknown>,
    writeBarrier: Promise<unknown>,
  ) {
    super({ allowHalfOpen: true });
    this.#raw = raw;
    this.#events = events;
    this.#readBarrier = readBarrier.then(() => {}, () => {});
    this.#writeBarrier = writeBarrier.then(() => {}, () => {});
  }

  /** Whether the transport reached end of input under TLS. */
  get rawEnded(): boolean {
    return this.#rawEnded;
  }

  /** Why reading the transport failed (a reset), if it did. */
  get rawError(): unknown {
    return this.#rawError;
  }

  /** How many bytes of the TLS stream have arrived so far (fed in early, or read). */
  get received(): number {
    return this.#received;
  }

  /**
   * Ciphertext read from the transport before TLS took it over.
   *
   * @param bytes The bytes, or `null` for end of input.
   */
  feed(bytes: Uint8Array | null): void {
    if (bytes === null) this.#eof = true;
    else if (bytes.length > 0) this.#early.push(bytes);
  }

  /** This side sent close_notify: bytes that are not a TLS record are the peer's plaintext. */
  stopped(): void {
    this.#stopped = true;
  }

  /**
   * Stops feeding TLS. Resolves with what was read but not fed (the plaintext that followed
   * the close_notify), after any read in flight.
   *
   * @returns The leftover bytes, in order, and whether end of input was reached.
   */
  async detach(): Promise<{ leftover: Uint8Array[]; eof: boolean }> {
    this.#detached = true;
    const leftover: Uint8Array[] = [];
    let eof = false;
    if (this.#pulling !== undefined) {
      try {
        const last = await this.#pulling;
        if (last === null) eof = true;
        else if (last.length > 0) leftover.push(last);
      } catch { /* the next plaintext read reports it */ }
    }
    if (this.#pending.length > 0) leftover.push(this.#pending);
    this.#pending = EMPTY;
    leftover.push(...this.#early.splice(0));
    return { leftover, eof: eof || this.#eof };
  }

  /**
   * Reads until `judge` can tell from the front of the stream, and feeds nothing: TLS gets
   * those bytes afterwards. For a server that looks at the ClientHello before TLS starts.
   *
   * @param judge Looks at every byte received so far; `NEED_MORE` to read on.
   * @returns Its verdict, or `null` at end of input before it had one.
   * @throws What reading the transport throws.
   */
  async lookAhead<T>(judge: (bytes: Uint8Array) => T | typeof NEED_MORE): Promise<T | null> {
    await this.#readBarrier;
    for (;;) {
      const verdict = judge(this.#pending);
      if (verdict !== NEED_MORE) return verdict;
      const more = await this.#readMore();
      if (more === null) return null;
      this.#pending = concat(this.#pending, more);
    }
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
        this.#rawError ??= e;
        this.#pulling = undefined;
        if (!this.#detached) this.destroy(e);
      },
    );
  }

  /**
   * The next bytes to feed: the whole records at the front of what was read, reading more
   * while there is only part of one. `null` at end of input.
   */
  async #pull(): Promise<Uint8Array | null> {
    await this.#readBarrier;
    for (;;) {
      const pending = this.#pending;
      const { length, valid } = recordPrefix(pending);
      if (length > 0) {
        this.#pending = pending.subarray(length);
        return pending.subarray(0, length);
      }
      if (!valid) return await this.#notARecord();
      const more = await this.#readMore();
      if (more === null) {
        this.#pending = EMPTY;
        return pending.length > 0 ? pending : null; // a truncated record: TLS reports it
      }
      this.#pending = concat(pending, more);
    }
  }

  /** The front of what was read is not a TLS record. */
  async #notARecord(): Promise<Uint8Array> {
    if (this.#stopped) {
      this.#events.plaintextAfterStop();
      return EMPTY;
    }
    // Let a close_notify fed just before take effect (the session detaches us), else feed
    // the bytes to TLS, which fails the session with a protocol error.
    for (let turn = 0; turn < SETTLE_TURNS; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (this.#detached) return EMPTY;
    }
    const bytes = this.#pending;
    this.#pending = EMPTY;
    return bytes;
  }

  /** The next bytes from the early queue or the transport (`null` at end of input). */
  async #readMore(): Promise<Uint8Array | null> {
    const early = this.#early.shift();
    if (early !== undefined) {
      this.#received += early.length;
      return early;
    }
    if (this.#eof) return null;
    const buf = new Uint8Array(READ_SIZE);
    const n = await this.#raw.read(buf);
    if (n === null) {
      this.#eof = true;
      return null;
    }
    this.#received += n;
    return buf.subarray(0, n);
  }

  override _write(chunk: Uint8Array, _enc: string, done: (e?: Error | null) => void): void {
    this.#writeAll(chunk).then(() => done(), (e) => done(e));
  }

  override _writev(chunks: { chunk: Uint8Array }[], done: (e?: Error | null) => void): void {
    const joined = new Uint8Array(chunks.reduce((sum, c) => sum + c.chunk.length, 0));
    let at = 0;
    for (const { chunk } of chunks) {
      joined.set(chunk, at);
      at += chunk.length;
    }
    this.#writeAll(joined).then(() => done(), (e) => done(e));
  }

  /**
   * Sends a fatal TLS alert in plaintext, straight to the transport: for a server that gives
   * up on a ClientHello before the TLS library has answered it. Never rejects.
   *
   * @param description The alert's code (`TLS_ALERT`).
   * @returns Settles once the alert has been written, or writing failed.
   */
  alert(description: number): Promise<void> {
    return this.#writeAll(fatalAlert(description)).catch(() => {});
  }

  async #writeAll(chunk: Uint8Array): Promise<void> {
    await this.#writeBarrier;
    for (let at = 0; at < chunk.length;) at += await this.#raw.write(chunk.subarray(at));
  }

  override _final(done: (e?: Error | null) => void): void {
    if (this.keepRawOpen) return done();
    this.#writeBarrier.then(() => this.#raw.closeWrite()).then(() => done(), (e) => done(e));
  }
}
