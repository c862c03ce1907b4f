/**
 * {@linkcode Handle}: buffered, non-blocking I/O on one connection.
 *
 * @module
 */
import { ReadBuffer } from "./buffer.ts";
import { HandleError, ioError } from "./errors.ts";
import { type HandleSource, toTransport, type Transport } from "./transport.ts";
import { WriteQueue } from "./write_queue.ts";
import { type Decoder, NEED_MORE } from "../codecs/decoder.ts";
import {
  type ReadArgs,
  readType,
  type ReadTypes,
  type ReadValues,
  type WriteArgs,
  writeType,
  type WriteTypes,
} from "../codecs/registry.ts";
import { ReadRequest } from "./read_request.ts";
import { type ReadIterator, readIterator } from "./iterate.ts";

/** A callback that receives only the handle. */
export type HandleCallback = (h: Handle) => void;

/** A custom reader: inspects and consumes `h.rbuf`, returns `true` when it is done. */
export type CustomReader = (h: Handle) => boolean;

/** The callback of read type `K`: the handle, then the values the type delivers. */
export type ReadCallback<K extends keyof ReadTypes> = (h: Handle, ...values: ReadValues<K>) => void;

/** Options for {@linkcode Handle}. Every callback receives the handle first. */
export interface HandleOptions {
  /**
   * Called with every error. A fatal error destroys the handle right after this returns (so
   * `h.rbuf` can still be inspected here). Without it, the error rejects `h.closed` and, unless
   * a pending promise read received it, is reported once on stderr.
   */
  onError?: (h: Handle, err: HandleError) => void;
  /**
   * Called at a clean end of input: the peer closed its side and no queued read is left
   * unsatisfied. Without it, end of input is a fatal `EPIPE` error (as in AnyEvent::Handle),
   * unless an `iterate()` loop ended on it.
   *
   * Unlike AnyEvent::Handle, which notices end of input only while a read is queued, a
   * handle with `onEof` keeps one read in flight while its buffer is empty, so a peer that
   * closes an idle connection is reported. Bytes that arrive while nothing is queued stay in
   * `h.rbuf` (reading pauses) until a reader takes them.
   */
  onEof?: HandleCallback;
  /**
   * Called when data is buffered and the read queue is empty; consumes from `h.rbuf` itself.
   * While it is set the handle keeps reading.
   */
  onRead?: HandleCallback;
  /** Called when the unsent bytes fall to `lowWaterMark`, and at once if they already have. */
  onDrain?: HandleCallback;
  /**
   * The most bytes `h.rbuf` may hold after a read has been dispatched; more is a fatal
   * `ENOSPC`. Exactly `rbufMax` is fine.
   *
   * @default {Infinity}
   */
  rbufMax?: number;
  /**
   * The most unsent bytes (queued plus in flight) the write queue may hold; more is a fatal
   * `ENOSPC`, raised synchronously from `pushWrite`.
   *
   * @default {Infinity}
   */
  wbufMax?: number;
  /**
   * The first read's size in bytes; it doubles each time a read fills it.
   *
   * @default {2048}
   */
  readSize?: number;
  /**
   * The largest read size (raised to `readSize` if smaller).
   *
   * @default {131072}
   */
  maxReadSize?: number;
  /**
   * How many unsent bytes count as drained for `onDrain`.
   *
   * @default {0}
   */
  lowWaterMark?: number;
  /**
   * Sets `TCP_NODELAY` (TCP only).
   *
   * @default {false}
   */
  noDelay?: boolean;
  /**
   * Sets `SO_KEEPALIVE` (TCP only).
   *
   * @default {false}
   */
  keepalive?: boolean;
}

const OPEN = 0;
const DESTROYED = 1;

const encoder = new TextEncoder();

function checkSize(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (!(value >= min) || (!Number.isSafeInteger(value) && value !== Infinity)) {
    throw new RangeError(`Cannot use ${name} "${value}": expected an integer >= ${min}`);
  }
  return value;
}

function callbackError(cause: unknown, where: string): HandleError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new HandleError("ECALLBACK", `${where} threw: ${detail}`, { cause });
}

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
  #transport: Transport;
  #state = OPEN;
  #error: HandleError | undefined;
  readonly #rbuf = new ReadBuffer();
  readonly #queue: ReadRequest[] = [];
  readonly #wq = new WriteQueue();

  #onError: HandleOptions["onError"];
  #onEof: HandleCallback | undefined;
  #onRead: HandleCallback | undefined;
  #onDrain: HandleCallback | undefined;
  #rbufMax: number;
  #wbufMax: number;
  #readSize: number;
  #maxReadSize: number;
  #lowWaterMark: number;

  #dispatching = false;
  #reading = false;
  #readStopped = false;
  #eof = false;
  #eofReported = false;
  #eofHandledByIterator = false;
  #writing = false;
  #shutdownRequested = false;
  #shutdownDone = false;
  #drainWaiters: { resolve: () => void; reject: (e: HandleError) => void }[] = [];
  #activeIo: Promise<void>[] = [];
  #closed: Promise<void>;
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
    this.#transport = toTransport(source);
    this.#onError = options.onError;
    this.#onEof = options.onEof;
    this.#onRead = options.onRead;
    this.#onDrain = options.onDrain;
    this.#rbufMax = checkSize("rbufMax", options.rbufMax, Infinity);
    this.#wbufMax = checkSize("wbufMax", options.wbufMax, Infinity);
    this.#readSize = checkSize("readSize", options.readSize, 2048, 1);
    this.#maxReadSize = Math.max(
      this.#readSize,
      checkSize("maxReadSize", options.maxReadSize, 131072, 1),
    );
    this.#lowWaterMark = checkSize("lowWaterMark", options.lowWaterMark, 0);
    this.#closed = new Promise<void>((resolve, reject) => {
      this.#settleClosed = (err) => err ? reject(err) : resolve();
    });
    this.#closed.catch(() => {});
    if (options.noDelay) this.#transport.setNoDelay?.(true);
    if (options.keepalive) this.#transport.setKeepAlive?.(true);
    if (this.#onDrain) this.#callDrain();
    this.#wantData();
  }

  /** The read buffer: the bytes read and not yet consumed by any reader. */
  get rbuf(): ReadBuffer {
    return this.#rbuf;
  }

  /** Whether the handle has been destroyed (by `destroy()` or a fatal error). */
  get destroyed(): boolean {
    return this.#state === DESTROYED;
  }

  /** The fatal error that destroyed the handle, if any. */
  get error(): HandleError | undefined {
    return this.#error;
  }

  /** Whether end of input has been seen. */
  get eof(): boolean {
    return this.#eof;
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
    return this.#wq.pending;
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
    this.#startReading();
  }

  /** The default reader; setting it dispatches what is buffered at once. */
  get onRead(): HandleCallback | undefined {
    return this.#onRead;
  }
  set onRead(cb: HandleCallback | undefined) {
    this.#onRead = cb;
    this.#wantData();
  }

  /** The drain callback; setting it calls it at once if the write queue is drained. */
  get onDrain(): HandleCallback | undefined {
    return this.#onDrain;
  }
  set onDrain(cb: HandleCallback | undefined) {
    this.#onDrain = cb;
    if (cb) this.#callDrain();
  }

  /** `rbufMax` (see {@linkcode HandleOptions.rbufMax}). */
  get rbufMax(): number {
    return this.#rbufMax;
  }
  set rbufMax(n: number) {
    this.#rbufMax = checkSize("rbufMax", n, Infinity);
  }

  /** `wbufMax` (see {@linkcode HandleOptions.wbufMax}). */
  get wbufMax(): number {
    return this.#wbufMax;
  }
  set wbufMax(n: number) {
    this.#wbufMax = checkSize("wbufMax", n, Infinity);
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
    this.#enqueue(this.#makeRequest(typeOrReader, rest), false);
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
    this.#enqueue(this.#makeRequest(typeOrReader, rest), true);
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
    const decoder = entry.create(...(args as unknown[]));
    if (this.#state !== OPEN) return Promise.reject(this.#afterDestroyError());
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
    const decoder = entry.create(...(args as unknown[]));
    return readIterator({
      request: () => new ReadRequest(entry.name, decoder, undefined, entry.spread, undefined),
      tryNow: () => this.#tryNow(entry.name, decoder),
      enqueue: (request) => this.#enqueue(request, false),
      remove: (request) => this.#remove(request),
      error: () => this.#state === OPEN ? undefined : this.#afterDestroyError(),
      spread: entry.spread,
    });
  }

  /**
   * Stops reading from the transport. A read already in flight completes; its bytes stay in
   * `h.rbuf`, undelivered, until `startRead()` (a `pushRead` still dispatches what is
   * buffered). End of input seen meanwhile is reported after `startRead()`.
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
    this.#readStopped = true;
  }

  /** Resumes reading after `stopRead()` and dispatches what was buffered meanwhile. */
  startRead(): void {
    if (!this.#readStopped) return;
    this.#readStopped = false;
    this.#wantData();
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
    this.#queueWrite(this.#encodeWrite(dataOrType, args), false);
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
    this.#queueWrite(this.#encodeWrite(dataOrType, args), true);
  }

  /**
   * Resolves when every queued byte has been accepted by the transport. Rejects with the fatal
   * `HandleError`, or `ECANCELED` if the handle is destroyed first.
   *
   * @returns A promise of the drained write queue.
   */
  drain(): Promise<void> {
    if (this.#state !== OPEN) return Promise.reject(this.#afterDestroyError());
    if (this.#wq.pending === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  /**
   * Half-closes the connection once the write queue is empty: the peer sees end of input,
   * and reading continues until the peer's own end of input. Writing afterwards throws.
   */
  pushShutdown(): void {
    if (this.#state !== OPEN || this.#shutdownRequested) return;
    this.#shutdownRequested = true;
    this.#startWriting();
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

  // ---- internals: read queue ----

  #makeRequest(typeOrReader: string | CustomReader, rest: unknown[]): ReadRequest {
    if (typeof typeOrReader === "function") {
      return new ReadRequest("custom", undefined, typeOrReader, false, undefined);
    }
    const entry = readType(typeOrReader);
    const callback = rest.pop();
    if (typeof callback !== "function") {
      throw new TypeError(
        `Cannot queue a "${typeOrReader}" read: the last argument must be a callback`,
      );
    }
    const decoder = entry.create(...rest);
    return new ReadRequest(
      entry.name,
      decoder,
      undefined,
      entry.spread,
      callback as (h: Handle, ...values: unknown[]) => void,
    );
  }

  #enqueue(request: ReadRequest, atFront: boolean): void {
    if (this.#state !== OPEN) throw this.#afterDestroyError("EPIPE");
    if (atFront) this.#queue.unshift(request);
    else this.#queue.push(request);
    this.#wantData();
  }

  #remove(request: ReadRequest): void {
    const i = this.#queue.indexOf(request);
    if (i >= 0) this.#queue.splice(i, 1);
  }

  /** The fast path of `iterate`: decode at once when nothing is queued ahead. */
  #tryNow(type: string, decoder: Decoder<unknown>): unknown {
    if (this.#queue.length > 0 || this.#dispatching || this.#state !== OPEN) return NEED_MORE;
    const before = this.#rbuf.length;
    try {
      const value = decoder.decode(this.#rbuf);
      if (value === NEED_MORE && this.#rbuf.length !== before) return this.#contractBroken(type);
      return value;
    } catch {
      return NEED_MORE; // let the queue report it the usual way
    }
  }

  #wantData(): void {
    this.#dispatch();
    this.#startReading();
  }

  /**
   * Drains the read queue while its head makes progress, then calls onRead. Not re-entrant:
   * a callback that pushes, unshifts or destroys changes what the outer loop sees next.
   */
  #dispatch(): void {
    if (this.#dispatching || this.#state !== OPEN || (this.#readStopped && !this.#queue.length)) {
      return;
    }
    this.#dispatching = true;
    const queue = this.#queue;
    const rbuf = this.#rbuf;
    try {
      while (this.#state === OPEN) {
        if (queue.length > 0) {
          const request = queue[0];
          if (request.custom !== undefined) {
            if (!this.#runCustom(request)) break;
            continue;
          }
          const before = rbuf.length;
          let value: unknown;
          try {
            const decoder = request.decoder!;
            value = this.#eof && decoder.decodeEof ? decoder.decodeEof(rbuf) : decoder.decode(rbuf);
          } catch (e) {
            if (this.#decodeFailed(request, e, before)) continue;
            break;
          }
          if (value === NEED_MORE) {
            if (rbuf.length !== before) this.#contractBroken(request.type);
            else if (this.#eof && this.#unsatisfiedAtEof(request)) continue;
            break;
          }
          queue.shift();
          this.#deliver(request, value);
        } else if (this.#onRead !== undefined && rbuf.length > 0 && !this.#readStopped) {
          const before = rbuf.length;
          try {
            this.#onRead(this);
          } catch (e) {
            this.#fatal(callbackError(e, "onRead"));
            break;
          }
          if (rbuf.length === before && queue.length === 0) {
            if (this.#eof) {
              this.#fatal(
                new HandleError(
                  "EPIPE",
                  `End of input with ${before} bytes onRead did not consume`,
                ),
              );
            }
            break;
          }
        } else {
          if (this.#eof && !this.#readStopped) this.#reportEof();
          break;
        }
      }
    } finally {
      this.#dispatching = false;
    }
  }

  /** Runs a custom reader at the head of the queue; returns whether to keep dispatching. */
  #runCustom(request: ReadRequest): boolean {
    const queue = this.#queue;
    queue.shift();
    let done: boolean;
    try {
      done = request.custom!(this);
    } catch (e) {
      this.#fatal(callbackError(e, "Custom reader"));
      return false;
    }
    if (this.#state !== OPEN) return false;
    if (done) return true;
    queue.unshift(request);
    return this.#eof && this.#unsatisfiedAtEof(request);
  }

  #deliver(request: ReadRequest, value: unknown): void {
    if (request.resolve !== undefined) {
      request.resolve(request.spread ? (value as unknown[])[0] : value);
      return;
    }
    const cb = request.callback!;
    try {
      if (!request.spread) cb(this, value);
      else {
        const values = value as unknown[];
        if (values.length === 2) cb(this, values[0], values[1]);
        else cb(this, ...values);
      }
    } catch (e) {
      this.#fatal(callbackError(e, `The "${request.type}" read callback`));
    }
  }

  /** Handles a decoder's throw; returns whether dispatching may continue. */
  #decodeFailed(request: ReadRequest, thrown: unknown, lengthBefore: number): boolean {
    if (!(thrown instanceof HandleError)) {
      this.#fatal(
        new HandleError("EINVAL", `The "${request.type}" decoder threw: ${String(thrown)}`, {
          cause: thrown,
        }),
      );
      return false;
    }
    const err = new HandleError(thrown.code, `Read type "${request.type}": ${thrown.message}`, {
      fatal: thrown.fatal,
      cause: thrown,
    });
    if (err.fatal) {
      this.#fatal(err);
      return false;
    }
    if (request.reject !== undefined) {
      this.#remove(request);
      request.reject(err);
      return true;
    }
    this.#report(err);
    // A non-fatal error leaves the read queued; it is retried when progress is possible.
    return this.#state === OPEN && this.#rbuf.length !== lengthBefore;
  }

  #contractBroken(type: string): typeof NEED_MORE {
    this.#fatal(
      new HandleError("EINVAL", `The "${type}" decoder returned NEED_MORE after consuming bytes`),
    );
    return NEED_MORE;
  }

  /**
   * A read that cannot complete at end of input: an iterator step with nothing left ends its
   * iteration (returns true: keep dispatching); anything else is a fatal EPIPE.
   */
  #unsatisfiedAtEof(request: ReadRequest): boolean {
    if (request.end !== undefined && this.#rbuf.length === 0) {
      this.#remove(request);
      this.#eofHandledByIterator = true;
      request.end();
      return true;
    }
    const left = this.#rbuf.length;
    this.#fatal(
      new HandleError(
        "EPIPE",
        `End of input with a "${request.type}" read pending (${left} bytes unconsumed)`,
      ),
    );
    return false;
  }

  #reportEof(): void {
    if (this.#eofReported) return;
    this.#eofReported = true;
    if (this.#onEof !== undefined) {
      try {
        this.#onEof(this);
      } catch (e) {
        this.#fatal(callbackError(e, "onEof"));
      }
    } else if (!this.#eofHandledByIterator) {
      this.#fatal(new HandleError("EPIPE", "Unexpected end of input (no onEof callback)"));
    }
  }

  // ---- internals: the read loop ----

  /**
   * Whether to keep a read in flight: while a read is queued or onRead is set (as in
   * AnyEvent), and also, with onEof set, while nothing is buffered, so that a peer closing an
   * idle connection is noticed; data that arrives meanwhile waits in rbuf for a reader.
   */
  #wantsRead(): boolean {
    return this.#state === OPEN && !this.#eof && !this.#readStopped &&
      (this.#queue.length > 0 || this.#onRead !== undefined ||
        (this.#onEof !== undefined && this.#rbuf.length === 0));
  }

  #startReading(): void {
    if (this.#reading || !this.#wantsRead()) return;
    this.#reading = true;
    this.#track(this.#readLoop());
  }

  async #readLoop(): Promise<void> {
    const rbuf = this.#rbuf;
    try {
      while (this.#wantsRead()) {
        const size = this.#readSize;
        const region = rbuf.reserve(size);
        let n: number | null;
        try {
          n = await this.#transport.read(region);
        } catch (e) {
          if (this.#state === OPEN) this.#fatal(ioError(e, "read"));
          return;
        }
        if (this.#state !== OPEN) return;
        if (n === null) {
          this.#eof = true;
          this.#dispatch();
          return;
        }
        rbuf.commit(region, n);
        if (n === size && size < this.#maxReadSize) {
          this.#readSize = Math.min(size * 2, this.#maxReadSize);
        }
        if (this.#readStopped) return;
        this.#dispatch();
        if (this.#state === OPEN && rbuf.length > this.#rbufMax) {
          this.#fatal(
            new HandleError(
              "ENOSPC",
              `Read buffer exceeds rbufMax of ${this.#rbufMax} bytes (${rbuf.length} buffered)`,
            ),
          );
          return;
        }
      }
    } finally {
      this.#reading = false;
    }
  }

  // ---- internals: writing ----

  #encodeWrite(dataOrType: string | Uint8Array, args: unknown[]): Uint8Array {
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

  #queueWrite(bytes: Uint8Array, atFront: boolean): void {
    if (this.#state !== OPEN) throw this.#afterDestroyError("EPIPE");
    if (this.#shutdownRequested) throw new TypeError("Cannot write after pushShutdown()");
    if (atFront) this.#wq.unshift(bytes);
    else this.#wq.push(bytes);
    if (this.#wq.pending > this.#wbufMax) {
      this.#fatal(
        new HandleError(
          "ENOSPC",
          `Write buffer exceeds wbufMax of ${this.#wbufMax} bytes (${this.#wq.pending} unsent)`,
        ),
      );
      return;
    }
    this.#startWriting();
  }

  #startWriting(): void {
    if (this.#writing || this.#state !== OPEN) return;
    if (this.#wq.queued === 0 && !(this.#shutdownRequested && !this.#shutdownDone)) return;
    this.#writing = true;
    this.#track(this.#writeLoop());
  }

  /**
   * The writer. It first yields one microtask, so everything pushed in the same synchronous
   * block leaves in one write (no Nagle delay between a header and its payload), then writes
   * batch after batch until the queue is empty.
   */
  async #writeLoop(): Promise<void> {
    const wq = this.#wq;
    try {
      await undefined;
      if (this.#state !== OPEN) return;
      let batch: Uint8Array | undefined;
      while ((batch = wq.takeBatch()) !== undefined) {
        while (batch.length > 0) {
          const n = await this.#transport.write(batch);
          if (this.#state !== OPEN) return;
          wq.written(n);
          batch = batch.subarray(n);
          if (wq.pending <= this.#lowWaterMark) this.#callDrain();
          if (this.#state !== OPEN) return;
        }
      }
      if (this.#shutdownRequested && !this.#shutdownDone) {
        this.#shutdownDone = true;
        await this.#transport.closeWrite();
      }
    } catch (e) {
      if (this.#state === OPEN) this.#fatal(ioError(e, "write"));
    } finally {
      this.#writing = false;
    }
  }

  #callDrain(): void {
    if (this.#wq.pending === 0 && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w.resolve();
    }
    if (this.#onDrain === undefined || this.#wq.pending > this.#lowWaterMark) return;
    try {
      this.#onDrain(this);
    } catch (e) {
      this.#fatal(callbackError(e, "onDrain"));
    }
  }

  // ---- internals: errors and teardown ----

  #track(io: Promise<void>): void {
    this.#activeIo.push(io);
    io.finally(() => {
      const i = this.#activeIo.indexOf(io);
      if (i >= 0) this.#activeIo.splice(i, 1);
    });
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
    if (this.#state !== OPEN) return;
    this.#error = err;
    let seen = this.#failRequests(err);
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

  /** Empties the read queue, rejecting promise reads; returns whether any received `err`. */
  #failRequests(err: HandleError): boolean {
    let seen = false;
    for (const request of this.#queue.splice(0)) {
      if (request.reject !== undefined) {
        request.reject(err);
        seen = true;
      }
    }
    return seen;
  }

  #afterDestroyError(code: "EPIPE" | "ECANCELED" = "ECANCELED"): HandleError {
    return this.#error ?? new HandleError(code, "The handle is destroyed");
  }

  #teardown(err: HandleError | undefined): void {
    if (this.#state !== OPEN) return;
    const cancel = new HandleError("ECANCELED", "The handle was destroyed");
    this.#failRequests(err ?? cancel);
    this.#state = DESTROYED;
    this.#wq.clear();
    for (const w of this.#drainWaiters.splice(0)) w.reject(err ?? cancel);
    try {
      this.#transport.close();
    } catch { /* already closed */ }
    Promise.allSettled(this.#activeIo).then(() => this.#settleClosed(err));
  }
}
