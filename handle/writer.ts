/**
 * {@linkcode WriteSide}: the write queue, the writer loop, drain and half-close.
 *
 * @module
 */
import { HandleError, ioError } from "./errors.ts";
import { callbackError, type HandleCallback } from "./options.ts";
import type { Transport } from "./transport.ts";
import { WriteQueue } from "./write_queue.ts";
import { writeType } from "../codecs/registry.ts";

const encoder = new TextEncoder();

function aborted(): HandleError {
  return new HandleError("ECANCELED", "The wait was aborted", { fatal: false });
}

/** What the write side needs from its handle. */
export interface WriteHost {
  /** The handle, passed to onDrain. */
  // deno-lint-ignore no-explicit-any
  readonly handle: any;
  /** Where bytes go. */
  readonly transport: Transport;
  /** Whether the handle is still open. */
  isOpen(): boolean;
  /** The current onDrain callback. */
  onDrain(): HandleCallback | undefined;
  /** Reports a fatal error and destroys the handle. */
  fatal(err: HandleError): void;
  /** Keeps track of an I/O loop, so `closed` settles after it. */
  track(io: Promise<void>): void;
  /** A write succeeded (for the inactivity timers). */
  writeActivity(): void;
}

/**
 * Turns the arguments of `pushWrite` into owned bytes: raw data (strings as UTF-8, arrays
 * copied) or a registered write type's encoding.
 *
 * @param dataOrType Raw data, or a write type's name.
 * @param args The write type's arguments (none for raw data).
 * @returns Bytes the write queue may keep.
 * @throws {TypeError} For an unknown write type or data of the wrong kind.
 */
export function encodeWrite(dataOrType: string | Uint8Array, args: unknown[]): Uint8Array {
  if (args.length === 0) {
    if (typeof dataOrType === "string") return encoder.encode(dataOrType);
    if (dataOrType instanceof Uint8Array) return dataOrType.slice();
    throw new TypeError("Cannot write: expected a string or a Uint8Array");
  }
  if (typeof dataOrType !== "string") {
    throw new TypeError("Cannot write: a typed write needs the type name first");
  }
  const bytes = writeType(dataOrType)(...(args as never[]));
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot write: write type "${dataOrType}" did not return a Uint8Array`);
  }
  return bytes;
}

/**
 * The write half of a handle: bytes leave in queue order; the writer yields one microtask
 * before its first write, so everything pushed in one synchronous block leaves in one write
 * (no Nagle delay between a header and its payload).
 */
export class WriteSide {
  lowWaterMark: number;
  wbufMax: number;
  /** Whether the writer waits for the next macrotask instead of the next microtask. */
  autocork = false;
  /** Settles when the batch being written has left (TLS waits for it before writing). */
  batchInFlight: Promise<unknown> | undefined = undefined;

  readonly #host: WriteHost;
  readonly #wq = new WriteQueue();
  #writing = false;
  #shutdownRequested = false;
  #shutdownDone = false;
  #drainWaiters: { resolve: () => void; reject: (e: HandleError) => void }[] = [];

  constructor(host: WriteHost, lowWaterMark: number, wbufMax: number) {
    this.#host = host;
    this.lowWaterMark = lowWaterMark;
    this.wbufMax = wbufMax;
  }

  /** Unsent bytes: queued plus handed to the transport and not yet accepted. */
  get pending(): number {
    return this.#wq.pending;
  }

  /**
   * Queues bytes; a fatal `ENOSPC` if more than `wbufMax` would be unsent.
   *
   * @param bytes Owned bytes.
   * @param atFront Whether they go before everything not yet handed to the transport.
   * @throws {TypeError} After `shutdown()`.
   */
  queue(bytes: Uint8Array, atFront: boolean): void {
    if (this.#shutdownRequested) throw new TypeError("Cannot write after pushShutdown()");
    const wq = this.#wq;
    if (atFront) wq.unshift(bytes);
    else wq.push(bytes);
    if (wq.pending > this.wbufMax) {
      this.#host.fatal(
        new HandleError(
          "ENOSPC",
          `Write buffer exceeds wbufMax of ${this.wbufMax} bytes (${wq.pending} unsent)`,
        ),
      );
      return;
    }
    this.#start();
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
    const transport = host.transport;
    const batches: Uint8Array[] = [];
    for (let b; (b = this.#wq.takeBatch()) !== undefined;) batches.push(b);
    const before = this.batchInFlight ?? Promise.resolve();
    if (batches.length === 0) return before.then(() => {});
    const flushed = before.then(async () => {
      try {
        for (const batch of batches) {
          if (!host.isOpen()) return;
          await this.#writeBatch(transport, batch);
        }
      } catch (e) {
        if (host.isOpen()) host.fatal(ioError(e, "write"));
      }
    });
    host.track(flushed);
    return flushed;
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
        const i = this.#drainWaiters.indexOf(waiter);
        if (i >= 0) this.#drainWaiters.splice(i, 1);
        reject(aborted());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#drainWaiters.push(waiter);
    });
  }

  /** Calls onDrain (and resolves `drain()` waiters) if the queue is drained enough. */
  callDrain(): void {
    const pending = this.#wq.pending;
    if (pending === 0 && this.#drainWaiters.length > 0) {
      for (const w of this.#drainWaiters.splice(0)) w.resolve();
    }
    const onDrain = this.#host.onDrain();
    if (onDrain === undefined || pending > this.lowWaterMark) return;
    try {
      onDrain(this.#host.handle);
    } catch (e) {
      this.#host.fatal(callbackError(e, "onDrain"));
    }
  }

  /**
   * Drops everything unsent and rejects `drain()` waiters.
   *
   * @param err What the waiters reject with.
   */
  clear(err: HandleError): void {
    this.#wq.clear();
    for (const w of this.#drainWaiters.splice(0)) w.reject(err);
  }

  #start(): void {
    if (this.#writing || !this.#host.isOpen()) return;
    if (this.#wq.queued === 0 && !(this.#shutdownRequested && !this.#shutdownDone)) return;
    this.#writing = true;
    this.#host.track(this.#writeLoop());
  }

  async #writeLoop(): Promise<void> {
    const host = this.#host;
    const wq = this.#wq;
    try {
      if (this.autocork) await new Promise((resolve) => setTimeout(resolve, 0));
      else await undefined;
      if (!host.isOpen()) return;
      let batch: Uint8Array | undefined;
      while ((batch = wq.takeBatch()) !== undefined) {
        // A batch goes entirely to the transport it started on: bytes queued before starttls
        // leave in plaintext, ahead of the handshake.
        const transport = host.transport;
        let batchDone!: () => void;
        this.batchInFlight = new Promise<void>((resolve) => batchDone = resolve);
        try {
          await this.#writeBatch(transport, batch);
        } finally {
          batchDone();
          this.batchInFlight = undefined;
        }
        if (!host.isOpen()) return;
      }
      if (this.#shutdownRequested && !this.#shutdownDone) {
        this.#shutdownDone = true;
        await host.transport.closeWrite();
      }
    } catch (e) {
      if (host.isOpen()) host.fatal(ioError(e, "write"));
    } finally {
      this.#writing = false;
    }
  }

  /** Writes one batch, resuming after partial writes. */
  async #writeBatch(transport: Transport, batch: Uint8Array): Promise<void> {
    const host = this.#host;
    const wq = this.#wq;
    while (batch.length > 0) {
      const n = await transport.write(batch);
      if (!host.isOpen()) return;
      host.writeActivity();
      wq.written(n);
      batch = batch.subarray(n);
      if (wq.pending <= this.lowWaterMark) this.callDrain();
      if (!host.isOpen()) return;
    }
  }
}
