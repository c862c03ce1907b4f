/**
 * {@linkcode WriteSide}: the write queue, the writer loop, drain and half-close.
 *
 * @module
 */
import { callbackError, HandleError, ioError } from "../base/errors.ts";
import type { HandleCallbackFor } from "./options.ts";
import type { Transport } from "../base/transport.ts";

/** Where a handle's writer hands its bytes: the connection, or the layer on top of it. */
export type Output = Pick<Transport, "write" | "closeWrite">;
import { BUFFER_SIZE, WriteQueue } from "./write_queue.ts";
import { atNextMacrotask } from "../base/next_macrotask.ts";
import { type CodecSettings, isWriteType, type WriteType } from "../base/codec.ts";

const encoder = new TextEncoder();
/** Queued bytes that are written at once, whatever the read side does: a full batch. */
const BATCH = BUFFER_SIZE;

function aborted(): HandleError {
  return new HandleError("ECANCELED", "The wait was aborted", { fatal: false });
}

/** What the write side needs from its handle. */
export interface WriteHost<H> {
  /** The handle, passed to onDrain. */
  readonly handle: H;
  /** Where bytes go: the layer on top, else the connection. */
  readonly output: Output;
  /** Whether the handle is still open (callbacks may run). */
  readonly open: boolean;
  /** Whether bytes may still be written: open, or destroyed and lingering (see `linger`). */
  readonly writable: boolean;
  /** While lingering: everything queued has left, or writing failed; close now. */
  lingerEnded(): void;
  /** The current onDrain callback. */
  readonly onDrain: HandleCallbackFor<H> | undefined;
  /** onDrain runs when no more than this many bytes are unsent. */
  readonly lowWaterMark: number;
  /** More unsent bytes than this makes a write report backpressure. */
  readonly highWaterMark: number;
  /** More unsent bytes than this is a fatal `ENOSPC`. */
  readonly wbufMax: number;
  /** Whether the writer waits for the next macrotask instead of the next microtask. */
  readonly autocork: boolean;
  /** The read side's burst: whether one is open, and a way to hear when it ends. */
  readonly reader: { readonly inBurst: boolean; onBurstEnd(listener: () => void): void };
  /** Reports a fatal error and destroys the handle. */
  fatal(err: HandleError): void;
  /** The write loop started (`closed` waits for it). */
  ioStarted(): void;
  /** The write loop ended. */
  ioEnded(): void;
  /** Keeps track of a one-off write task, so `closed` settles after it. */
  track(io: Promise<void>): void;
  /** A write of `bytes` succeeded (for the counters and the inactivity timers). */
  writeActivity(bytes: number): void;
}

/**
 * Encodes a typed `pushWrite` with its write type.
 *
 * @param type The write type (its name is looked up by the caller).
 * @param args The type's arguments.
 * @param codecs The handle's codec settings.
 * @returns Bytes the write queue may keep.
 * @throws {TypeError} For something that is no write type, or an encoder that returns no
 * `Uint8Array`.
 */
export function encodeTyped(type: unknown, args: unknown[], codecs: CodecSettings): Uint8Array {
  if (!isWriteType(type)) {
    throw new TypeError("Cannot write: expected a string, a Uint8Array or a write type");
  }
  const bytes = (type as WriteType<unknown[]>).encoder(codecs, ...args);
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot write: write type "${type.typeName}" did not return a Uint8Array`);
  }
  return bytes;
}

/**
 * The write half of a handle: bytes leave in queue order; the writer yields one microtask
 * before its first write, so everything pushed in one synchronous block leaves in one write
 * (no Nagle delay between a header and its payload).
 */
export class WriteSide<H> {
  readonly #host: WriteHost<H>;
  readonly #wq = new WriteQueue();
  #writing = false;
  /** Whether a batch is being written by the loop (flushes wait for it). */
  #inBatch = false;
  /** Resolved when the batch being written has left. */
  #afterBatch: (() => void)[] | undefined = undefined;
  /** Holds in force: while there is one, the loop writes nothing new (a layer is being removed). */
  #holds = 0;
  #shutdownRequested = false;
  #shutdownDone = false;
  #drainWaiters: { resolve: () => void; reject: (e: HandleError) => void }[] | undefined =
    undefined;

  constructor(host: WriteHost<H>) {
    this.#host = host;
  }

  /** Unsent bytes: queued plus handed to the transport and not yet accepted. */
  get pending(): number {
    return this.#wq.pending;
  }

  /**
   * Queues text (as UTF-8) or bytes; a fatal `ENOSPC` if more than `wbufMax` would be unsent.
   * Returns whether no more than `highWaterMark` bytes are unsent (false after `ENOSPC`).
   * Small writes are copied straight into the buffer the transport will be handed.
   *
   * @param data Text, or bytes.
   * @param atFront Whether they go before everything not yet handed to the transport.
   * @param owned Whether the queue may keep `data` itself (bytes an encoder just made); if not,
   * it is copied.
   * @throws {TypeError} After `shutdown()`.
   */
  queue(data: string | Uint8Array, atFront: boolean, owned: boolean): boolean {
    if (this.#shutdownRequested) throw new TypeError("Cannot write after pushShutdown()");
    const wq = this.#wq;
    if (atFront) {
      wq.unshift(typeof data === "string" ? encoder.encode(data) : owned ? data : data.slice());
    } else if (typeof data === "string") wq.pushText(data);
    else if (owned) wq.push(data);
    else wq.pushCopy(data);
    return this.#queued();
  }

  /**
   * `queue(text, false, false)`, the most frequent write, without the branches: text goes
   * to the queue's joined text, to be encoded once per batch.
   *
   * @param text The text.
   * @returns Whether no more than `highWaterMark` bytes are unsent.
   * @throws {TypeError} After `shutdown()`.
   */
  queueText(text: string): boolean {
    if (this.#shutdownRequested) throw new TypeError("Cannot write after pushShutdown()");
    this.#wq.pushText(text);
    return this.#queued();
  }

  /**
   * `queue(bytes, false, false)` without the branches: a copy at the end of the queue.
   *
   * @param bytes Bytes the caller keeps.
   * @returns Whether no more than `highWaterMark` bytes are unsent.
   * @throws {TypeError} After `shutdown()`.
   */
  queueBytes(bytes: Uint8Array): boolean {
    if (this.#shutdownRequested) throw new TypeError("Cannot write after pushShutdown()");
    this.#wq.pushCopy(bytes);
    return this.#queued();
  }

  /** Checks `wbufMax` after a write was queued and starts the writer; see `queue`'s result. */
  #queued(): boolean {
    const wq = this.#wq;
    const host = this.#host;
    const atMost = wq.pendingAtMost;
    const wbufMax = host.wbufMax;
    if (atMost > wbufMax && wq.pending > wbufMax) {
      host.fatal(
        new HandleError(
          "ENOSPC",
          `Write buffer exceeds wbufMax of ${wbufMax} bytes (${wq.pending} unsent)`,
        ),
      );
      return false;
    }
    if (!this.#writing) this.#start();
    const highWaterMark = host.highWaterMark;
    // Exact only when the bounds straddle the mark (text not yet encoded).
    return atMost <= highWaterMark ||
      (wq.pendingAtLeast <= highWaterMark && wq.pending <= highWaterMark);
  }

  /**
   * Sends everything queued so far to the current transport, after the batch in flight; what
   * is queued from now on goes to whatever transport replaces it (TLS starting: the bytes
   * pushed before `starttls` leave in plaintext, ahead of the handshake).
   *
   * @returns Settles once those bytes have been accepted (or the handle failed).
   */
  flushToCurrent(): Promise<void> {
    const host = this.#host;
    const transport = host.output;
    const batches: Uint8Array[] = [];
    for (let b; (b = this.#wq.takeBatch()) !== undefined;) batches.push(b);
    const before = this.#batchDone();
    if (batches.length === 0) return before;
    const flushed = before.then(async () => {
      try {
        for (const batch of batches) {
          if (!host.writable) return;
          await this.#finishBatch(transport, batch, 0);
        }
      } catch (e) {
        this.#failed(e);
      }
    });
    host.track(flushed);
    return flushed;
  }

  /** Settles when the batch the loop is writing has left (at once if none is). */
  #batchDone(): Promise<void> {
    if (!this.#inBatch) return Promise.resolve();
    return new Promise((resolve) => (this.#afterBatch ??= []).push(resolve));
  }

  /**
   * Holds what is queued from now on until the returned function is called (a layer is being
   * taken off: its successor must not see bytes before it is in place).
   *
   * @returns Releases the hold.
   */
  hold(): () => void {
    this.#holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds--;
      this.#start();
    };
  }

  /** Half-closes the transport once everything queued has been written. */
  shutdown(): void {
    if (this.#shutdownRequested) return;
    this.#shutdownRequested = true;
    this.#start();
  }

  /**
   * A promise of the drained queue.
   *
   * @param signal Aborting it rejects the promise with `ECANCELED` (the bytes stay queued).
   * @returns Resolves when nothing is unsent.
   */
  drain(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(aborted());
    if (this.#wq.pending === 0) return Promise.resolve();
    const waiters = this.#drainWaiters ??= [];
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (e: HandleError) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        const i = waiters.indexOf(waiter);
        if (i >= 0) waiters.splice(i, 1);
        reject(aborted());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      waiters.push(waiter);
    });
  }

  /** Calls onDrain (and resolves `drain()` waiters) if the queue is drained enough. */
  callDrain(): void {
    const pending = this.#wq.pending;
    const waiters = this.#drainWaiters;
    if (pending === 0 && waiters !== undefined && waiters.length > 0) {
      for (const w of waiters.splice(0)) w.resolve();
    }
    const onDrain = this.#host.onDrain;
    if (onDrain === undefined || pending > this.#host.lowWaterMark) return;
    try {
      onDrain(this.#host.handle);
    } catch (e) {
      this.#host.fatal(callbackError(e, "onDrain"));
    }
  }

  /**
   * Rejects `drain()` waiters, keeping what is queued (the handle lingers).
   *
   * @param err What the waiters reject with.
   */
  rejectWaiters(err: HandleError): void {
    for (const w of this.#drainWaiters?.splice(0) ?? []) w.reject(err);
  }

  /**
   * Drops everything unsent and rejects `drain()` waiters.
   *
   * @param err What the waiters reject with.
   */
  clear(err: HandleError): void {
    this.#wq.clear();
    for (const w of this.#drainWaiters?.splice(0) ?? []) w.reject(err);
  }

  #start(): void {
    if (this.#writing || !this.#host.writable) return;
    if (this.#wq.queuedAtMost === 0 && !(this.#shutdownRequested && !this.#shutdownDone)) return;
    this.#writing = true;
    this.#host.ioStarted();
    this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    const host = this.#host;
    const wq = this.#wq;
    try {
      if (host.autocork) await new Promise((resolve) => setTimeout(resolve, 0));
      else await undefined;
      // No extra turn unless a burst is being handed out (and a batch's worth is not queued).
      if (host.reader.inBurst && wq.queuedAtMost < BATCH) await this.#burstEnd();
      if (!host.writable) return;
      for (;;) {
        if (this.#holds > 0) return; // the hold's release starts the loop again
        const batch = wq.takeBatch();
        if (batch === undefined) break;
        // A batch goes entirely to the transport it started on: bytes queued before starttls
        // leave in plaintext, ahead of the handshake.
        this.#inBatch = true;
        try {
          const output = host.output;
          // Most batches leave in one write, awaited here: no async frame of their own.
          const n = await output.write(batch);
          if (!this.#accepted(n)) return;
          if (n < batch.length) await this.#finishBatch(output, batch, n);
          else wq.release(batch);
        } finally {
          this.#inBatch = false;
          const waiters = this.#afterBatch;
          if (waiters !== undefined) {
            this.#afterBatch = undefined;
            for (const resolve of waiters) resolve();
          }
        }
        if (!host.writable) return;
      }
      if (this.#shutdownRequested && !this.#shutdownDone) {
        this.#shutdownDone = true;
        await host.output.closeWrite();
      }
    } catch (e) {
      this.#failed(e);
    } finally {
      this.#writing = false;
      if (!host.open && host.writable && this.#wq.pending === 0) host.lingerEnded();
      host.ioEnded();
    }
  }

  /** A write failed: fatal while open; while lingering it only ends the lingering. */
  #failed(e: unknown): void {
    const host = this.#host;
    if (host.open) host.fatal(ioError(e, "write"));
    else if (host.writable) host.lingerEnded();
  }

  /**
   * Holds the first write back while the read side is still handing out the frames of one
   * read to promise or iterator consumers (a pipelined burst, one frame per few microtasks):
   * their replies then leave in one write. The read side says when the burst ends (a read
   * must wait for the network); a consumer that stops taking frames is noticed at the next
   * macrotask, when every microtask it had has run. A lone reply opens no burst and leaves at
   * once.
   */
  #burstEnd(): Promise<void> {
    return new Promise<void>((resolve) => {
      atNextMacrotask(resolve); // resolving twice is harmless
      this.#host.reader.onBurstEnd(resolve);
    });
  }

  /**
   * Writes what is left of a batch from byte `at` on, resuming after partial writes, then
   * gives the batch back to the queue.
   */
  async #finishBatch(transport: Output, batch: Uint8Array, at: number): Promise<void> {
    while (at < batch.length) {
      const n = await transport.write(at === 0 ? batch : batch.subarray(at));
      if (!this.#accepted(n)) return;
      at += n;
    }
    this.#wq.release(batch);
  }

  /**
   * Accounts for `n` bytes the transport took: the counters, the queue, `onDrain`.
   *
   * @returns Whether bytes may still be written (a callback may have destroyed the handle).
   */
  #accepted(n: number): boolean {
    const host = this.#host;
    if (!host.writable) return false;
    host.writeActivity(n);
    this.#wq.written(n);
    if (host.open && this.#wq.pending <= host.lowWaterMark) this.callDrain();
    return host.writable;
  }
}
