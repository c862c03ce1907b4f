/**
 * {@linkcode HandleCore}: the internals a `Handle` holds in its private field, and what the
 * parts report to: errors, teardown, `closed` and linger, the timers, the addresses.
 *
 * Its parts: the read side (`reader.ts`, with its read loop), the write side (made on first
 * use), the timers (made when a timeout is set) and the layer stack (made when a layer is
 * pushed). It keeps the settings, which the table in `settings.ts` checks and applies. What it
 * may not touch: framing (codecs plug in as read and write type values) and TLS (a layer like
 * any other, pushed through {@linkcode HandleCore.pushLayer}).
 *
 * @module
 */
import { callbackError, HandleError } from "../base/errors.ts";
import type { HandleCallbackFor, HandleOptionsFor } from "./options.ts";
import { ReadSide } from "./reader.ts";
import type { ReadRequest } from "./read_request.ts";
import type { Transport } from "../base/transport.ts";
import type { Layer, LayerContext } from "../base/layer.ts";
import { type Output, WriteSide } from "./writer.ts";
import { ConnectingTransport } from "./connect.ts";
import { type TimeoutKind, Timeouts } from "./timeouts.ts";
import { closeQuietly, LayerStack } from "./layer_stack.ts";
import type { CodecSettings } from "../base/codec.ts";
import { applySocketOptions, RARE_DEFAULTS, type RareSettings } from "./settings.ts";

const ignore = () => {};

/** Activity times below this many milliseconds (12 days) are kept as small integers. */
const SMALL_MS = 2 ** 30;

/** Who heard of a handle's fatal error (see `HandleCore.errorFate`). */
export type ErrorFate = "reported" | "received" | "quiet";

/**
 * The internals of one handle. Not part of the public API.
 *
 * @typeParam H The handle, passed first to every callback.
 */
export class HandleCore<H> {
  /** The handle, passed first to every callback (set by `attach`). */
  handle: H = undefined as H;
  /** The transport on top: the one the queues read and write. */
  transport: Transport;
  readonly reader: ReadSide<H>;
  open = true;
  /** Whether the connection is up (a `Handle.connect` handle is not, at first). */
  connected = false;
  error: HandleError | undefined = undefined;
  /**
   * Who heard of `error`: `onError` or stderr (`reported`), only a promise read or iterator
   * step (`received`: a server reports it if the connection's handler rejects with it), or no
   * one on purpose (`quiet`: the peer left before saying anything).
   */
  errorFate: ErrorFate | undefined = undefined;
  /** Bytes read from the transport on top (plaintext under TLS). */
  bytesRead = 0;
  /** Bytes the transport on top accepted. */
  bytesWritten = 0;
  /** When the handle was made (`Date.now()`). */
  readonly createdAt: number = Date.now();
  onError: HandleOptionsFor<H>["onError"] = undefined;
  onEof: HandleCallbackFor<H> | undefined = undefined;
  onRead: HandleCallbackFor<H> | undefined = undefined;
  onDrain: HandleCallbackFor<H> | undefined = undefined;
  /**
   * The settings most handles never set: the shared defaults until one is set, then an object
   * of the handle's own whose prototype they are. Written only by `setRare`.
   */
  rare: Readonly<RareSettings<H>> = RARE_DEFAULTS;
  /** Set while the handle is destroyed but still sending what was queued: ends that. */
  #endLinger: (() => void) | undefined = undefined;

  #writer: WriteSide<H> | undefined = undefined;
  #timeouts: Timeouts | undefined = undefined;
  /**
   * When the last read and write succeeded, in `Date.now()` milliseconds since `createdAt`:
   * small integers, which an object keeps in its fields unboxed for 12 days (epoch
   * milliseconds would be a boxed number each, 16 bytes more a field).
   */
  #readAt = 0;
  #writeAt = 0;
  /** The transports under `transport`, once a layer has been pushed. */
  #layers: LayerStack | undefined = undefined;
  /** I/O loops still running; `closed` settles once the handle is shut and this is 0. */
  #io = 0;
  #closed: Promise<void> | undefined = undefined;
  #settleClosed: ((err: HandleError | undefined) => void) | undefined = undefined;
  #ended = false;

  /**
   * @param transport The connection (or the first transport of a stack).
   */
  constructor(transport: Transport) {
    this.transport = transport;
    this.reader = new ReadSide(this);
  }

  /**
   * Links the core to its handle and starts it: socket options, timers, `onDrain`, reading.
   *
   * @param handle The handle passed to callbacks.
   * @param connected Whether the transport is already connected.
   */
  attach(handle: H, connected: boolean): void {
    this.handle = handle;
    if (connected) this.markConnected();
    if (this.onDrain) this.writer.callDrain();
    this.reader.wantData();
  }

  /**
   * Sets one of the rarely used settings (the handle gets an object of its own for them).
   *
   * @param key Which.
   * @param value Its new value.
   */
  setRare<K extends keyof RareSettings<H>>(key: K, value: RareSettings<H>[K]): void {
    const own: RareSettings<H> = this.rare === RARE_DEFAULTS
      ? Object.create(RARE_DEFAULTS)
      : this.rare as RareSettings<H>;
    own[key] = value;
    this.rare = own;
  }

  /** Seconds `destroy()` keeps flushing unsent bytes (0: drop them). */
  get linger(): number {
    return this.rare.linger;
  }
  /** onDrain runs at or below this many unsent bytes. */
  get lowWaterMark(): number {
    return this.rare.lowWaterMark;
  }
  /** More unsent bytes than this makes `pushWrite` return false. */
  get highWaterMark(): number {
    return this.rare.highWaterMark;
  }
  /** More unsent bytes than this is a fatal `ENOSPC`. */
  get wbufMax(): number {
    return this.rare.wbufMax;
  }
  /** Whether the writer waits for the next macrotask. */
  get autocork(): boolean {
    return this.rare.autocork;
  }
  /** What the codecs this handle uses are told. */
  get codecs(): CodecSettings {
    return this.rare.codecs;
  }
  /** Whether the handle is destroyed but still sending what was queued. */
  get lingering(): boolean {
    return this.#endLinger !== undefined;
  }

  /** The write side, made on first use. */
  get writer(): WriteSide<H> {
    return this.#writer ??= new WriteSide(this);
  }

  /** Unsent bytes. */
  get pending(): number {
    return this.#writer?.pending ?? 0;
  }

  enqueue(request: ReadRequest<H>, atFront: boolean): void {
    if (!this.open) throw this.afterDestroyError("EPIPE");
    this.reader.enqueue(request, atFront);
  }

  queueWrite(data: string | Uint8Array, atFront: boolean, owned: boolean): boolean {
    if (!this.open) throw this.afterDestroyError("EPIPE");
    return this.writer.queue(data, atFront, owned) && this.open;
  }

  /** `queueWrite(bytes, false, false)`: bytes the caller keeps, copied at the end. */
  queueBytes(bytes: Uint8Array): boolean {
    if (!this.open) throw this.afterDestroyError("EPIPE");
    return this.writer.queueBytes(bytes) && this.open;
  }

  /** `queueWrite(text, false, false)`, the most frequent write. */
  queueText(text: string): boolean {
    if (!this.open) throw this.afterDestroyError("EPIPE");
    return this.writer.queueText(text) && this.open;
  }

  // ---- connection, socket options, timers ----

  /** The connection itself (the layers, if any, are above it). */
  get base(): Transport {
    return this.transport;
  }

  /** Where the writer's bytes go: the layer on top, else the connection. */
  get output(): Output {
    return this.#layers?.output ?? this.transport;
  }

  /** The layer on top, if any (TLS started by the handle is one). */
  get topLayer(): Layer | undefined {
    return this.#layers?.top;
  }

  /** Whether layers are pushed on the connection. */
  get layered(): boolean {
    return this.#layers !== undefined;
  }

  /** Whether a layer needs input even with no reader waiting (a TLS handshake). */
  get layersWantInput(): boolean {
    return this.#layers?.wantsInput ?? false;
  }

  /**
   * Bytes the read loop read, or `null` at the connection's end of input: through the layers
   * if there are any. Returns false without layers (the loop hands them to the readers).
   */
  throughLayers(bytes: Uint8Array | null): boolean {
    const layers = this.#layers;
    if (layers === undefined) return false;
    layers.inbound(bytes);
    return true;
  }

  /** Makes sure the read loop runs if anything wants data (a layer that wants input). */
  startReading(): void {
    this.reader.startReading();
  }

  /**
   * An address of the connection: the one set in `addresses`, else the socket's (a `Deno.Conn`
   * under any layers, or the conn `Handle.connect` made), else `undefined` (pipes, streams).
   */
  addr(which: "remoteAddr" | "localAddr"): Deno.Addr | undefined {
    const set = this.rare.addresses?.[which === "remoteAddr" ? "remote" : "local"];
    if (set !== undefined) return set;
    let base = this.base as Partial<Deno.Conn> & { conn?: Deno.Conn };
    if (base instanceof ConnectingTransport) base = base.conn ?? {};
    try {
      return base[which];
    } catch {
      return undefined; // a closed conn may refuse
    }
  }

  /** The connection exists: apply the socket options and start the timers. */
  markConnected(): void {
    this.connected = true;
    this.#readAt = this.#writeAt = this.#sinceCreated();
    applySocketOptions(this);
    this.#startTimeouts();
  }

  /**
   * Starts the timers from the last activity. They count on the monotonic clock; the activity
   * times are `Date.now()` (cheaper per read and write, and what `lastActivity` reports).
   */
  #startTimeouts(): void {
    const origin = performance.now() - Date.now() + this.createdAt;
    this.#timeouts?.start(origin + this.#readAt, origin + this.#writeAt);
  }

  /** A timeout period in seconds (0: off). */
  getTimeout(kind: TimeoutKind): number {
    return this.#timeouts?.get(kind) ?? 0;
  }

  /** Sets a timeout period; the timers are made the first time one is set. */
  setTimeout(kind: TimeoutKind, seconds: number): void {
    if (this.#timeouts === undefined) {
      if (seconds === 0) return;
      this.#timeouts = new Timeouts((kind) => this.#timedOut(kind));
      if (this.connected && this.open) this.#startTimeouts();
    }
    this.#timeouts.set(kind, seconds);
  }

  /** Restarts a timeout's period from now. */
  resetTimeout(kind: TimeoutKind): void {
    this.#timeouts?.reset(kind);
  }

  /**
   * Milliseconds since `createdAt`, as a small integer while it fits one (a difference of two
   * epoch times is a boxed double otherwise, and one such value turns the field into a boxed
   * one in every handle).
   */
  #sinceCreated(): number {
    const ms = Date.now() - this.createdAt;
    return ms > -SMALL_MS && ms < SMALL_MS ? ms | 0 : ms; // negative if the clock was set back
  }

  /** A read of `bytes` succeeded (for the counters and the inactivity timers). */
  readActivity(bytes: number): void {
    this.bytesRead += bytes;
    this.#readAt = this.#sinceCreated();
    this.#timeouts?.readActivity();
  }

  /** A write of `bytes` succeeded (for the counters and the inactivity timers). */
  writeActivity(bytes: number): void {
    this.bytesWritten += bytes;
    this.#writeAt = this.#sinceCreated();
    this.#timeouts?.writeActivity();
  }

  /** When the last read or write succeeded, else when the connection came up (`Date.now()` time). */
  get lastActivity(): number {
    if (this.bytesRead === 0 && this.bytesWritten === 0) return this.createdAt;
    return this.createdAt + Math.max(this.#readAt, this.#writeAt);
  }

  #timedOut(kind: TimeoutKind): void {
    const rare = this.rare;
    const cb = kind === "timeout"
      ? rare.onTimeout
      : kind === "rtimeout"
      ? rare.onRtimeout
      : rare.onWtimeout;
    if (cb === undefined) {
      this.report(
        new HandleError("ETIMEDOUT", `No activity for ${this.getTimeout(kind)} s (${kind})`, {
          fatal: false,
        }),
      );
      return;
    }
    try {
      cb(this.handle);
    } catch (e) {
      this.fatal(callbackError(e, `on${kind[0].toUpperCase()}${kind.slice(1)}`));
    }
  }

  // ---- transport layers ----

  /**
   * Puts a layer on top (see `LayerStack.push`): the writes queued so far go out below it.
   *
   * @param create Makes the layer from its context.
   * @returns The layer.
   */
  pushLayer<L extends Layer>(create: (ctx: LayerContext) => L): L {
    if (!this.open) throw this.afterDestroyError("EPIPE");
    const writesBefore = this.#writer?.flushToCurrent() ?? Promise.resolve();
    return (this.#layers ??= new LayerStack(this, writesBefore)).push(create, writesBefore);
  }

  /**
   * Replaces the connection with one made from it in place (`Deno.startTls`), if that is
   * safe: no layer is pushed, no read of it is in flight and nothing read waits in `h.rbuf`.
   * What was queued for writing leaves on the old connection first; `make` is handed a
   * promise of that, and the new connection must not be used before it settles.
   *
   * @param make Makes the new connection.
   * @returns Whether the connection was replaced.
   */
  upgradeConnection(make: (flushed: Promise<void>) => Transport): boolean {
    const reader = this.reader;
    if (!this.open || this.#layers !== undefined) return false;
    if (reader.loop.inFlight || reader.rbuf.length > 0) return false;
    const flushed = this.#writer?.flushToCurrent() ?? Promise.resolve();
    this.transport = make(flushed);
    return true;
  }

  /**
   * Where the layers and the connection stand, and how to swap the connection or fail: what
   * starting TLS needs (`TlsSite` in `tls/starttls.ts`), live.
   */
  get site(): {
    readonly top: Layer | undefined;
    readonly base: Transport;
    readonly open: boolean;
    upgrade(make: (flushed: Promise<void>) => Transport): boolean;
    fail(err: HandleError, reported?: boolean): void;
  } {
    const now = { top: () => this.topLayer, base: () => this.transport, open: () => this.open };
    return {
      get top() {
        return now.top();
      },
      get base() {
        return now.base();
      },
      get open() {
        return now.open();
      },
      upgrade: (make) => this.upgradeConnection(make),
      fail: (err, reported) => reported ? this.failReported(err) : this.fatal(err),
    };
  }

  /**
   * Destroys the handle with `err` after the application has been told of it some other way
   * (`onStarttls`): `onError` is not called.
   *
   * @param err The error.
   */
  failReported(err: HandleError): void {
    if (!this.open) return;
    this.error ??= err;
    this.teardown(err);
  }

  // ---- I/O loops, errors, teardown ----

  /** An I/O loop started; `closed` waits for it. */
  ioStarted(): void {
    this.#io++;
  }

  /** An I/O loop ended. */
  ioEnded(): void {
    if (--this.#io === 0 && !this.open) this.#end();
  }

  /** Keeps track of a one-off I/O task (a flush, a connection attempt). */
  track(io: Promise<void>): void {
    this.ioStarted();
    io.finally(() => this.ioEnded());
  }

  /** Settles once the handle is shut and its I/O has stopped. */
  get closed(): Promise<void> {
    if (this.#closed === undefined) {
      if (this.#ended) {
        const err = this.error;
        this.#closed = err ? Promise.reject(err) : Promise.resolve();
      } else {
        this.#closed = new Promise<void>((resolve, reject) => {
          this.#settleClosed = (err) => err ? reject(err) : resolve();
        });
      }
      this.#closed.catch(ignore);
    }
    return this.#closed;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#settleClosed?.(this.error);
  }

  /**
   * Reports a non-fatal error to `onError`. With no `onError` nobody would hear of it, so it
   * destroys the handle as a fatal error, as AnyEvent::Handle does without `on_error` (a timeout
   * with neither `onTimeout` nor `onError` then closes the connection, once).
   */
  report(err: HandleError): void {
    if (this.onError === undefined) {
      return this.fatal(
        new HandleError(err.code, err.message, { cause: err.cause ?? err, fatal: true }),
      );
    }
    try {
      this.onError(this.handle, err);
    } catch (e) {
      this.fatal(callbackError(e, "onError"));
    }
  }

  /** Reports a fatal error: to promise readers and onError, then destroys the handle. */
  fatal(err: HandleError): void {
    if (!this.open || this.error !== undefined) return;
    this.error = err;
    const received = this.reader.failAll(err);
    if (this.rare.quietEnd?.(err) === true) {
      this.errorFate = "quiet";
      return this.teardown(err);
    }
    if (this.onError !== undefined) {
      this.errorFate = "reported";
      try {
        this.onError(this.handle, err);
      } catch (e) {
        console.error(`@anyevent/handle: onError threw while reporting ${err.code}:`, e);
      }
    } else if (received) this.errorFate = "received";
    else this.reportUncaught(err);
    this.teardown(err);
  }

  /**
   * Says on stderr that a fatal error reached no one (no `onError`, no promise read): the one
   * report it gets.
   *
   * @param err The error.
   */
  reportUncaught(err: HandleError): void {
    this.errorFate = "reported";
    console.error(`@anyevent/handle: uncaught ${err.code}: ${err.message}`);
  }

  afterDestroyError(code: "EPIPE" | "ECANCELED" = "ECANCELED"): HandleError {
    return this.error ?? new HandleError(code, "The handle is destroyed");
  }

  teardown(err: HandleError | undefined): void {
    if (!this.open) return;
    err ??= this.error; // destroy() called from onError while a fatal error is reported
    const reason = err ?? new HandleError("ECANCELED", "The handle was destroyed");
    this.reader.failAll(reason);
    this.open = false;
    this.reader.close();
    this.error ??= err;
    this.#timeouts?.stop();
    const writer = this.#writer;
    if (err === undefined && writer !== undefined && writer.pending > 0 && this.linger > 0) {
      writer.rejectWaiters(reason);
      this.#linger(writer, reason);
    } else {
      writer?.clear(reason);
      this.#closeTransports();
    }
    if (this.#io === 0) this.#end();
  }

  /** Whether bytes may still be written: open, or destroyed and lingering. */
  get writable(): boolean {
    return this.open || this.lingering;
  }

  /** While lingering: everything left, or writing failed. */
  lingerEnded(): void {
    this.#endLinger?.();
  }

  /**
   * `destroy()` with bytes unsent: no callback runs again, but the writer goes on until they
   * have left, writing fails, or `linger` seconds have passed; then the connection closes.
   */
  #linger(writer: WriteSide<H>, reason: HandleError): void {
    this.ioStarted(); // `closed` settles when it ends
    const timer = setTimeout(() => this.#endLinger?.(), this.linger * 1000);
    this.#endLinger = () => {
      this.#endLinger = undefined;
      clearTimeout(timer);
      writer.clear(reason);
      this.#closeTransports();
      this.ioEnded();
    };
  }

  #closeTransports(): void {
    if (this.#layers === undefined) closeQuietly(this.transport);
    else this.#layers.closeAll();
  }

  /** No address could be connected to: `onConnectError` if given, else a fatal error. */
  connectFailed(
    err: HandleError,
    onConnectError: ((h: H, err: HandleError) => void) | undefined,
  ): void {
    if (onConnectError === undefined) return this.fatal(err);
    this.error = err;
    try {
      onConnectError(this.handle, err);
    } catch (e) {
      console.error("@anyevent/handle: onConnectError threw:", e);
    }
    this.teardown(err);
  }
}
