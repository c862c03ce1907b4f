/**
 * {@linkcode Handle}: buffered, non-blocking I/O on one connection.
 *
 * @module
 */
import type { ReadBuffer } from "./buffer.ts";
import { HandleError } from "./errors.ts";
import { type ReadIterator, readIterator } from "./iterate.ts";
import {
  callbackError,
  checkSize,
  type CustomReader,
  type HandleCallback,
  type HandleOptions,
  type ReadCallback,
} from "./options.ts";
import { ReadSide } from "./reader.ts";
import { frameLimit } from "../codecs/limits.ts";
import { ReadRequest } from "./read_request.ts";
import { type HandleSource, toTransport, type Transport } from "./transport.ts";
import { encodeWrite, WriteSide } from "./writer.ts";
import {
  type ReadArgs,
  readType,
  type ReadTypes,
  type ReadValues,
  type WriteArgs,
  type WriteTypes,
} from "../codecs/registry.ts";

export type { CustomReader, HandleCallback, HandleOptions, ReadCallback } from "./options.ts";

/**
 * Buffered, non-blocking I/O on one connection, after Perl's AnyEvent::Handle.
 *
 * Reading: an ordered queue of read requests (`pushRead`, `unshiftRead`, `read`, `iterate`)
 * shares one buffer, `h.rbuf`. After every read from the transport the queue is drained in
 * order while its head can make progress; `onRead` is called only when the queue is empty.
 * The handle reads only while something wants data (a queued read or `onRead`).
 *
 * Writing: `pushWrite` queues bytes (or a typed value) and sends them in order; `onDrain` and
 * `drain()` report when they have left; `pushShutdown` half-closes after the queue empties.
 *
 * State table of the read side:
 *
 * | state | reads from the transport | on data | on end of input |
 * |---|---|---|---|
 * | idle (queue empty, no onRead) | no | - | - |
 * | wanting (queue or onRead) | yes | dispatch queue, then onRead | dispatch; unsatisfied read: EPIPE; else onEof or EPIPE |
 * | stopped (`stopRead`) | no new read | bytes stay in rbuf | deferred to `startRead` |
 * | destroyed | no | - | - |
 *
 * @example A line client and server over loopback
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const server = (async () => {
 *   const h = new Handle(await listener.accept());
 *   const name = await h.read("line");
 *   h.pushWrite(`hello, ${name}\r\n`);
 *   await h.drain();
 *   h.destroy();
 * })();
 *
 * const client = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * client.pushWrite("deno\n");
 * assert.equal(await client.read("line"), "hello, deno");
 * client.destroy();
 * await server;
 * listener.close();
 * ```
 */
export class Handle {
  readonly #transport: Transport;
  readonly #reader: ReadSide;
  readonly #writer: WriteSide;
  #open = true;
  #error: HandleError | undefined;
  #onError: HandleOptions["onError"];
  #onEof: HandleCallback | undefined;
  #onRead: HandleCallback | undefined;
  #onDrain: HandleCallback | undefined;
  readonly #activeIo = new Set<Promise<void>>();
  readonly #closed: Promise<void>;
  #settleClosed!: (err: HandleError | undefined) => void;

  /**
   * Wraps a connection.
   *
   * @param source A `Deno.Conn` (TCP, Unix or TLS) or a `{ reader, writer }` pair such as
   * `{ reader: Deno.stdin, writer: Deno.stdout }`.
   * @param options Callbacks and limits.
   * @throws {RangeError} If a size option is negative or not an integer.
   * @throws {TypeError} If `source` is not a connection.
   */
  constructor(source: HandleSource, options: HandleOptions = {}) {
    const transport = this.#transport = toTransport(source);
    this.#onError = options.onError;
    this.#onEof = options.onEof;
    this.#onRead = options.onRead;
    this.#onDrain = options.onDrain;
    const host = {
      handle: this,
      transport,
      isOpen: () => this.#open,
      onRead: () => this.#onRead,
      onEof: () => this.#onEof,
      onDrain: () => this.#onDrain,
      fatal: (err: HandleError) => this.#fatal(err),
      report: (err: HandleError) => this.#report(err),
      track: (io: Promise<void>) => this.#track(io),
    };
    this.#reader = new ReadSide(
      host,
      checkSize("readSize", options.readSize, 2048, 1),
      checkSize("maxReadSize", options.maxReadSize, 131072, 1),
      checkSize("rbufMax", options.rbufMax, Infinity),
    );
    if (options.maxFrameLength !== undefined) {
      this.#reader.maxFrameLength = frameLimit(options.maxFrameLength, Infinity);
    }
    this.#writer = new WriteSide(
      host,
      checkSize("lowWaterMark", options.lowWaterMark, 0),
      checkSize("wbufMax", options.wbufMax, Infinity),
    );
    this.#closed = new Promise<void>((resolve, reject) => {
      this.#settleClosed = (err) => err ? reject(err) : resolve();
    });
    this.#closed.catch(() => {});
    if (options.noDelay) transport.setNoDelay?.(true);
    if (options.keepalive) transport.setKeepAlive?.(true);
    if (this.#onDrain) this.#writer.callDrain();
    this.#reader.wantData();
  }

  /** The read buffer: the bytes read and not yet consumed by any reader. */
  get rbuf(): ReadBuffer {
    return this.#reader.rbuf;
  }

  /** Whether the handle has been destroyed (by `destroy()` or a fatal error). */
  get destroyed(): boolean {
    return !this.#open;
  }

  /** The fatal error that destroyed the handle, if any. */
  get error(): HandleError | undefined {
    return this.#error;
  }

  /** Whether end of input has been seen. */
  get eof(): boolean {
    return this.#reader.eof;
  }

  /**
   * Settles once the handle is destroyed and its I/O has stopped: resolves after `destroy()`,
   * rejects with the fatal `HandleError` otherwise. A rejection nobody awaits is not reported
   * as unhandled.
   */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Unsent bytes: queued plus handed to the transport and not yet accepted. */
  get wbufLength(): number {
    return this.#writer.pending;
  }

  /** The error callback; see {@linkcode HandleOptions.onError}. */
  get onError(): HandleOptions["onError"] {
    return this.#onError;
  }
  set onError(cb: HandleOptions["onError"]) {
    this.#onError = cb;
  }

  /** The end-of-input callback; see {@linkcode HandleOptions.onEof}. */
  get onEof(): HandleCallback | undefined {
    return this.#onEof;
  }
  set onEof(cb: HandleCallback | undefined) {
    this.#onEof = cb;
    this.#reader.startReading();
  }

  /** The default reader; setting it dispatches what is buffered at once. */
  get onRead(): HandleCallback | undefined {
    return this.#onRead;
  }
  set onRead(cb: HandleCallback | undefined) {
    this.#onRead = cb;
    this.#reader.wantData();
  }

  /** The drain callback; setting it calls it at once if the write queue is drained. */
  get onDrain(): HandleCallback | undefined {
    return this.#onDrain;
  }
  set onDrain(cb: HandleCallback | undefined) {
    this.#onDrain = cb;
    if (cb) this.#writer.callDrain();
  }

  /** `rbufMax` (see {@linkcode HandleOptions.rbufMax}). */
  get rbufMax(): number {
    return this.#reader.rbufMax;
  }
  set rbufMax(n: number) {
    this.#reader.rbufMax = checkSize("rbufMax", n, Infinity);
  }

  /** `wbufMax` (see {@linkcode HandleOptions.wbufMax}). */
  get wbufMax(): number {
    return this.#writer.wbufMax;
  }
  set wbufMax(n: number) {
    this.#writer.wbufMax = checkSize("wbufMax", n, Infinity);
  }

  // ---- reading ----

  /**
   * Queues a read at the end of the read queue: a custom reader, or a registered read type
   * with its arguments and a callback.
   *
   * A custom reader is called with the handle whenever it is at the head of the queue and
   * there may be progress (also at once, and at end of input); it consumes from `h.rbuf` and
   * returns `true` when it is done. A typed read calls its callback once with what its type
   * delivers. Reads that can be satisfied from `h.rbuf` complete before this returns.
   *
   * @throws {TypeError} For an unknown read type or a missing callback.
   * @throws {HandleError} `EPIPE` if the handle is destroyed.
   *
   * @example A length header, then a payload of that length
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const peer = listener.accept().then(async (conn) => {
   *   await conn.write(new TextEncoder().encode("5\nhello"));
   *   conn.close();
   * });
   * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * const payload = await new Promise<string>((resolve) => {
   *   h.pushRead("line", (h, size) => {
   *     h.unshiftRead("chunk", Number(size), (_h, bytes) => resolve(new TextDecoder().decode(bytes)));
   *   });
   * });
   * assert.equal(payload, "hello");
   * h.destroy();
   * await peer;
   * listener.close();
   * ```
   */
  pushRead(reader: CustomReader): void;
  /**
   * Queues a typed read: the type's arguments, then the callback.
   *
   * @param type A registered read type.
   * @param rest The type's arguments, then `(h, ...values) => void`.
   */
  pushRead<K extends keyof ReadTypes>(type: K, ...rest: [...ReadArgs<K>, ReadCallback<K>]): void;
  pushRead(typeOrReader: string | CustomReader, ...rest: unknown[]): void {
    this.#enqueue(this.#reader.makeRequest(typeOrReader, rest), false);
  }

  /**
   * Like {@linkcode Handle.pushRead}, but puts the read at the head of the queue: called from
   * a read callback, it runs before every read queued earlier (two unshifts run last-in
   * first-out).
   *
   * @throws {TypeError} For an unknown read type or a missing callback.
   * @throws {HandleError} `EPIPE` if the handle is destroyed.
   *
   * @example Unshifting runs before what was queued earlier
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const peer = listener.accept().then(async (conn) => {
   *   await conn.write(new TextEncoder().encode("a\nb\nc\n"));
   *   return conn;
   * });
   * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * const seen: string[] = [];
   * await new Promise<void>((done) => {
   *   h.pushRead("line", (h, line) => {
   *     seen.push(line);
   *     h.unshiftRead("line", (_h, line) => seen.push(line));
   *   });
   *   h.pushRead("line", (_h, line) => {
   *     seen.push(line);
   *     done();
   *   });
   * });
   * assert.deepEqual(seen, ["a", "b", "c"]);
   * h.destroy();
   * (await peer).close();
   * listener.close();
   * ```
   */
  unshiftRead(reader: CustomReader): void;
  /**
   * Puts a typed read at the head of the queue.
   *
   * @param type A registered read type.
   * @param rest The type's arguments, then `(h, ...values) => void`.
   */
  unshiftRead<K extends keyof ReadTypes>(type: K, ...rest: [...ReadArgs<K>, ReadCallback<K>]): void;
  unshiftRead(typeOrReader: string | CustomReader, ...rest: unknown[]): void {
    this.#enqueue(this.#reader.makeRequest(typeOrReader, rest), true);
  }

  /**
   * Queues a typed read and returns a promise of its first value (`line` resolves with the
   * line, `chunk` with the bytes). It rejects with the `HandleError` that failed it: `EPIPE`
   * at end of input, the codec's error, or `ECANCELED` if the handle is destroyed first.
   *
   * @param type A registered read type.
   * @param args The type's arguments.
   * @returns The first value the type delivers.
   * @throws {TypeError} For an unknown read type.
   *
   * @example Reading a line
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const peer = listener.accept().then(async (conn) => {
   *   await conn.write(new TextEncoder().encode("220 ready\r\n"));
   *   return conn;
   * });
   * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * assert.equal(await h.read("line"), "220 ready");
   * h.destroy();
   * (await peer).close();
   * listener.close();
   * ```
   */
  read<K extends keyof ReadTypes>(type: K, ...args: ReadArgs<K>): Promise<ReadValues<K>[0]> {
    const entry = readType(type as string);
    const decoder = this.#reader.createDecoder(entry, args as unknown[]);
    if (!this.#open) return Promise.reject(this.#afterDestroyError());
    return new Promise((resolve, reject) => {
      const request = new ReadRequest(entry.name, decoder, undefined, entry.spread, undefined);
      request.resolve = resolve as (v: unknown) => void;
      request.reject = reject;
      this.#enqueue(request, false);
    });
  }

  /**
   * Iterates over the values of a read type until end of input. Each step is one read request
   * in the queue, so the loop interleaves correctly with other reads; the iteration ends
   * cleanly at end of input between frames, and throws the `HandleError` otherwise (`EPIPE`
   * for a partial frame at end of input). Leaving the loop early (`break`) leaves the bytes
   * not yet decoded in `h.rbuf` for the next reader.
   *
   * @param type A registered read type.
   * @param args The type's arguments.
   * @returns An async iterator of the type's first value.
   * @throws {TypeError} For an unknown read type.
   *
   * @example Counting lines until the peer closes
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const peer = listener.accept().then(async (conn) => {
   *   await conn.write(new TextEncoder().encode("one\ntwo\nthree\n"));
   *   conn.close();
   * });
   * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * const lines: string[] = [];
   * for await (const line of h.iterate("line")) lines.push(line);
   * assert.deepEqual(lines, ["one", "two", "three"]);
   * h.destroy();
   * await peer;
   * listener.close();
   * ```
   */
  iterate<K extends keyof ReadTypes>(
    type: K,
    ...args: ReadArgs<K>
  ): ReadIterator<ReadValues<K>[0]> {
    const entry = readType(type as string);
    const decoder = this.#reader.createDecoder(entry, args as unknown[]);
    return readIterator({
      request: () => new ReadRequest(entry.name, decoder, undefined, entry.spread, undefined),
      tryNow: () => this.#reader.tryNow(entry.name, decoder),
      enqueue: (request) => this.#enqueue(request, false),
      remove: (request) => this.#reader.remove(request),
      error: () => this.#open ? undefined : this.#afterDestroyError(),
      spread: entry.spread,
    });
  }

  /**
   * Stops reading from the transport. Deno cannot cancel a read in flight without closing the
   * connection, so a read already in flight completes; its bytes stay in `h.rbuf`, undelivered,
   * until `startRead()` (a `pushRead` still dispatches what is buffered), and no new read is
   * started. End of input seen meanwhile is reported after `startRead()`.
   *
   * @example Pausing and resuming
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const conn = Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const h = new Handle(await listener.accept());
   * h.stopRead();
   * h.startRead();
   * assert.equal(h.destroyed, false);
   * h.destroy();
   * (await conn).close();
   * listener.close();
   * ```
   */
  stopRead(): void {
    this.#reader.stop();
  }

  /** Resumes reading after `stopRead()` and dispatches what was buffered meanwhile. */
  startRead(): void {
    this.#reader.start();
  }

  // ---- writing ----

  /**
   * Queues bytes (a string is encoded as UTF-8), or a value of a registered write type, to be
   * sent after everything queued before. The bytes are copied, so the caller may reuse its
   * array at once.
   *
   * @throws {TypeError} For an unknown write type, or after `pushShutdown()`.
   * @throws {RangeError} From the write type's encoder, for a value it cannot encode.
   * @throws {HandleError} `EPIPE` if the handle is destroyed.
   *
   * @example Writing text and bytes
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * const peer = new Handle(await listener.accept());
   * h.pushWrite("hi ");
   * h.pushWrite(new Uint8Array([0x21, 0x0a]));
   * assert.equal(await peer.read("line"), "hi !");
   * h.destroy();
   * peer.destroy();
   * listener.close();
   * ```
   */
  pushWrite(data: string | Uint8Array): void;
  /**
   * Queues a value of a registered write type, encoded by that type.
   *
   * @param type A registered write type.
   * @param args The type's arguments.
   */
  pushWrite<K extends keyof WriteTypes>(type: K, ...args: WriteArgs<K>): void;
  pushWrite(dataOrType: string | Uint8Array, ...args: unknown[]): void {
    this.#queueWrite(encodeWrite(dataOrType, args), false);
  }

  /**
   * Like {@linkcode Handle.pushWrite}, but puts the bytes in front of everything not yet
   * handed to the transport (bytes already being written go first).
   *
   * @throws {TypeError} For an unknown write type, or after `pushShutdown()`.
   * @throws {HandleError} `EPIPE` if the handle is destroyed.
   */
  unshiftWrite(data: string | Uint8Array): void;
  /**
   * Puts a value of a registered write type in front of everything not yet sent.
   *
   * @param type A registered write type.
   * @param args The type's arguments.
   */
  unshiftWrite<K extends keyof WriteTypes>(type: K, ...args: WriteArgs<K>): void;
  unshiftWrite(dataOrType: string | Uint8Array, ...args: unknown[]): void {
    this.#queueWrite(encodeWrite(dataOrType, args), true);
  }

  /**
   * Resolves when every queued byte has been accepted by the transport. Rejects with the fatal
   * `HandleError`, or `ECANCELED` if the handle is destroyed first.
   *
   * @returns A promise of the drained write queue.
   */
  drain(): Promise<void> {
    if (!this.#open) return Promise.reject(this.#afterDestroyError());
    return this.#writer.drain();
  }

  /**
   * Half-closes the connection once the write queue is empty: the peer sees end of input,
   * and reading continues until the peer's own end of input. Writing afterwards throws.
   */
  pushShutdown(): void {
    if (this.#open) this.#writer.shutdown();
  }

  // ---- closing ----

  /**
   * Closes the connection now: drops both queues, ends the I/O in flight, rejects pending
   * promise reads and `drain()` with `ECANCELED`, and calls no callback afterwards.
   * Idempotent. `h.closed` resolves once the I/O has stopped.
   */
  destroy(): void {
    this.#teardown(undefined);
  }

  // ---- internals ----

  #enqueue(request: ReadRequest, atFront: boolean): void {
    if (!this.#open) throw this.#afterDestroyError("EPIPE");
    this.#reader.enqueue(request, atFront);
  }

  #queueWrite(bytes: Uint8Array, atFront: boolean): void {
    if (!this.#open) throw this.#afterDestroyError("EPIPE");
    this.#writer.queue(bytes, atFront);
  }

  #track(io: Promise<void>): void {
    this.#activeIo.add(io);
    io.finally(() => this.#activeIo.delete(io));
  }

  /** Reports a non-fatal error. */
  #report(err: HandleError): void {
    if (this.#onError === undefined) {
      console.error(`@anyevent/handle: ${err.code}: ${err.message}`);
      return;
    }
    try {
      this.#onError(this, err);
    } catch (e) {
      this.#fatal(callbackError(e, "onError"));
    }
  }

  /** Reports a fatal error: to promise readers and onError, then destroys the handle. */
  #fatal(err: HandleError): void {
    if (!this.#open || this.#error !== undefined) return;
    this.#error = err;
    let seen = this.#reader.failAll(err);
    if (this.#onError !== undefined) {
      seen = true;
      try {
        this.#onError(this, err);
      } catch (e) {
        console.error(`@anyevent/handle: onError threw while reporting ${err.code}:`, e);
      }
    }
    if (!seen) console.error(`@anyevent/handle: uncaught ${err.code}: ${err.message}`);
    this.#teardown(err);
  }

  #afterDestroyError(code: "EPIPE" | "ECANCELED" = "ECANCELED"): HandleError {
    return this.#error ?? new HandleError(code, "The handle is destroyed");
  }

  #teardown(err: HandleError | undefined): void {
    if (!this.#open) return;
    err ??= this.#error; // destroy() called from onError while a fatal error is reported
    const reason = err ?? new HandleError("ECANCELED", "The handle was destroyed");
    this.#reader.failAll(reason);
    this.#open = false;
    this.#writer.clear(reason);
    try {
      this.#transport.close();
    } catch { /* already closed */ }
    Promise.allSettled([...this.#activeIo]).then(() => this.#settleClosed(err));
  }
}
