/**
 * {@linkcode Handle}: buffered, non-blocking I/O on one connection.
 *
 * The public class only; its parts are private fields. It drives the core (`core.ts`: errors,
 * teardown, timers), the read side (`reader.ts`, `read_loop.ts`, `read_calls.ts`), the write
 * side (`writer.ts`), the transport stack (`layer_stack.ts`) and the settings table
 * (`settings.ts`). TLS (`starttls`, `stoptls`, the `tls` option) is started by `tls/`.
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";
import type { HandleError } from "../base/errors.ts";
import { checkArgCount, isWriteType } from "../base/codec.ts";
import { type HandleSource, toTransport } from "../base/transport.ts";
import type { Layer, LayerContext } from "../base/layer.ts";
import type { TlsMode, TlsOptions } from "../tls/options.ts";
import {
  alpnProtocol,
  nativeServing,
  startTls,
  stopTls,
  tlsActive,
  watchNativeTls,
} from "../tls/starttls.ts";
import { NativeTls } from "../tls/native_tls.ts";
import type { Addressed, ConnectAddr, ListenAddr, ServedAddr } from "./addresses.ts";
import { type ConnectCallbacks, ConnectingTransport, type ConnectTarget } from "./connect.ts";
import { HandleCore } from "./core.ts";
import type { ReadIterator } from "./iterate.ts";
import { type ReadTypeNames, writeTypeNamed } from "./names.ts";
import type { CustomReaderFor, HandleCallbackFor, HandleOptionsFor } from "./options.ts";
import { iterateRead, promiseRead, type ReadOptions } from "./read_calls.ts";
import { HandleServer, type ServedProxyInfo, type ServeOptions } from "./serve.ts";
import { defineSettings, keepOptions } from "./settings.ts";
import { StreamTransport } from "./stream_transport.ts";
import type {
  IterateArgs,
  PushReadArgs,
  ReadCallArgs,
  ReadParts,
  ReadResultOf,
  ReadTypeArg,
  TypedReadCallback,
  WriteArgs,
  WriteTypeArg,
} from "./typed.ts";
import { encodeTyped } from "./writer.ts";
import type { HandleLayers } from "./handle_layers.ts";
import type { HandleReading } from "./handle_reading.ts";
import type { HandleWriting } from "./handle_writing.ts";

/** Options for {@linkcode Handle}: callbacks, limits, timeouts and TLS. */
export type HandleOptions = HandleOptionsFor<Handle>;
/** A callback that receives only the handle. */
export type HandleCallback = HandleCallbackFor<Handle>;
/** A custom reader: inspects and consumes `h.rbuf`, returns `true` when it is done. */
export type CustomReader = CustomReaderFor<Handle>;
/**
 * The callback of a read type, given as its type (`ReadCallback<typeof line>`) or its name
 * (`ReadCallback<"line">`): the handle, then the values the type delivers.
 */
export type ReadCallback<R> = (R extends keyof ReadTypeNames ? ReadTypeNames[R] : R) extends
  ReadParts<infer _A, infer T, infer S> ? TypedReadCallback<T, S, Handle> : never;

/**
 * A `Handle` whose addresses are known to be of type `A` (see {@linkcode Addressed}): what
 * `Handle.serve` passes to `onConnection` and what `Handle.connect` returns.
 *
 * @typeParam A The type of the addresses.
 *
 * @example The port of a served connection's peer, without a cast
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const ports: number[] = [];
 * const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, (h) => {
 *   ports.push(h.remoteAddr.port);
 *   h.destroy();
 * });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * assert.equal(await conn.read(new Uint8Array(1)), null);
 * assert.deepEqual(ports, [conn.localAddr.port]);
 * conn.close();
 * await server.shutdown(1);
 * ```
 */
export type AddressedHandle<A extends Deno.Addr | undefined> = Addressed<Handle, A>;

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
 * TLS: `starttls` (or the `tls` option) puts a TLS session between the queues and the
 * connection at any moment; the queues, `h.rbuf` and the callbacks stay as they are, and the
 * bytes already read become the start of the TLS stream (see {@linkcode Handle.starttls}).
 *
 * The read side's input state (the table `handle/read_state.ts` runs on; `stopRead()` also
 * holds back onRead and the end's report):
 *
 * | state | reads start | dispatch runs | moves on |
 * |---|---|---|---|
 * | open | while something wants data | queue, then onRead | end of input: ending (held if stopped) |
 * | held | no | the queue only | `startRead()`: ending |
 * | ending | no | queue fed what remains, then onEof, else fatal EPIPE | a reader took the end: taken; reported: ended |
 * | taken | no | as ending, but no EPIPE without onEof | reported: ended |
 * | ended | no | queue, onRead | - |
 * | closed | no | nothing | - |
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
export class Handle implements HandleReading<Handle>, HandleWriting<Handle>, HandleLayers {
  readonly #core: HandleCore<Handle>;

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
    const transport = toTransport(source);
    const core = this.#core = new HandleCore<Handle>(transport);
    keepOptions(core, options);
    if (transport instanceof NativeTls) watchNativeTls(this, core.site, transport);
    else if (options.tls !== undefined) startTls(this, core.site, options.tls);
    core.attach(this, !(transport instanceof ConnectingTransport));
  }

  /**
   * Connects in the background and returns the handle at once: reads and writes may be
   * queued meanwhile and go out, in order, once connected. Every address of the host is tried
   * in turn (see {@linkcode ConnectCallbacks} for `onPrepare`, `onConnect` with `retry()`,
   * `onConnectError` and `signal`); `localhost` means 127.0.0.1, then ::1.
   *
   * @param target `{ hostname, port }` or `{ path }` (a Unix socket).
   * @param options Handle options and connection callbacks.
   * @returns The handle, connecting: its addresses are `Deno.NetAddr` (`Deno.UnixAddr` for a
   * path) once connected, `undefined` before.
   *
   * @example Writing before the connection is up
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const h = Handle.connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * h.pushWrite("early\n");
   * const peer = new Handle(await listener.accept());
   * assert.equal(await peer.read("line"), "early");
   * h.destroy();
   * peer.destroy();
   * await Promise.all([h.closed, peer.closed]);
   * listener.close();
   * ```
   */
  static connect<T extends ConnectTarget>(
    target: T,
    options: HandleOptions & ConnectCallbacks<Handle> = {},
  ): AddressedHandle<ConnectAddr<T> | undefined> {
    const transport = new ConnectingTransport(target);
    const h = new Handle(transport, ConnectingTransport.peerNamed(target, options));
    const core = h.#core;
    core.track(transport.start(options, {
      handle: h,
      isOpen: () => core.open,
      connected: () => core.markConnected(),
      failed: (err, onConnectError) => core.connectFailed(err, onConnectError),
    }));
    return h as AddressedHandle<ConnectAddr<T> | undefined>;
  }

  /**
   * Serves connections: listens on `{ hostname, port }` or `{ path }` and calls `onConnection`
   * once per connection with its handle (made with `options.handle`).
   *
   * An async `onConnection` owns its connection: when the promise it returns settles, the
   * handle is destroyed (bytes still queued leave first, see `linger`), so a handler that
   * ends, as a `for await` over `h.iterate()` does at end of input, never leaves a socket
   * open. A handler that returns nothing (callback style) keeps its handle open until it is
   * destroyed or fails.
   *
   * Every fatal error of a connection is reported once: to its `onError`, else on stderr. What
   * `onConnection` throws, or the promise it returns rejecting, destroys that handle and is
   * reported so; a handler that rejects with the handle's own error (a promise read it awaited
   * failed) has that error reported then, unless `onError` already had it. The server goes on.
   * `server.stats.errors` counts them by code. A client that leaves before sending
   * anything (a health check, a port scan) is not an error: it is only counted in
   * `server.stats`, as are connections reset before they were accepted, which never delay the
   * next one. See {@linkcode ServeOptions} for `reusePort`, `maxConnections`, `signal` and
   * `proxy` (the PROXY protocol), and {@linkcode HandleServer} for `addr`, `connections`,
   * `stats`, `shutdown(gracePeriod)` and `finished`. The address types follow from the
   * options: on a port, `server.addr`, `h.remoteAddr` and `h.localAddr` are `Deno.NetAddr`; on
   * a `path`, `Deno.UnixAddr` (see {@linkcode ListenAddr}, {@linkcode ServedAddr}).
   *
   * @param options Where to listen, and the options of every connection's handle.
   * @param onConnection Called with each connection's handle (and its PROXY header, if asked).
   * @returns The server, already accepting.
   * @throws {Deno.errors.AddrInUse} If the address is taken.
   * @throws {TypeError} If `handle.tls` is `"accept"` without a certificate (see
   * `TlsOptions.sni` for the warning without a default one).
   * @throws {RangeError} For a bad `maxConnections` or `proxyTimeout`.
   *
   * @example A line echo server, shut down gracefully
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, async (h) => {
   *   for await (const line of h.iterate("line")) h.pushWrite(`${line}\n`);
   *   h.destroy();
   * });
   * const { port } = server.addr;
   * const client = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }));
   * client.pushWrite("ping\n");
   * assert.equal(await client.read("line"), "ping");
   * assert.equal(server.connections, 1);
   * await client[Symbol.asyncDispose]();
   * await server.shutdown(1);
   * ```
   */
  static serve<O extends ServeOptions<Handle>>(
    options: O,
    onConnection: (
      h: AddressedHandle<ServedAddr<O>>,
      proxy?: ServedProxyInfo<ListenAddr<O>>,
    ) => void | Promise<void>,
  ): HandleServer<AddressedHandle<ServedAddr<O>>, ListenAddr<O>> {
    const listenTls = nativeServing(options);
    const { tls: _accept, ...overNative } = options.handle ?? {}; // Deno runs the sessions
    return new HandleServer<AddressedHandle<ServedAddr<O>>, ListenAddr<O>>(options, onConnection, {
      listenTls,
      // The listener's kind fixes the conn's addresses (see ServedAddr).
      make: (conn) =>
        new Handle(conn, listenTls ? overNative : options.handle) as AddressedHandle<ServedAddr<O>>,
      setAddresses: (h, remote, local) => h.#core.setRare("addresses", { remote, local }),
      setQuietEnd: (h, quiet) => h.#core.setRare("quietEnd", quiet),
      errorFate: (h) => h.#core.errorFate,
      reportUncaught: (h, err) => h.#core.reportUncaught(err),
    });
  }

  /**
   * Makes a handle over a Web stream pair, such as a child process's stdout and stdin or a
   * `fetch` body and an upload stream. End of input, half-close (`pushShutdown` closes the
   * writable) and errors work as on a socket.
   *
   * @param readable Where bytes come from.
   * @param writable Where bytes go.
   * @param options Callbacks and limits.
   * @returns The handle.
   *
   * @example Reading a child's output line by line
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
   * const h = Handle.fromStreams(readable, writable);
   * h.pushWrite("through a stream\n");
   * assert.equal(await h.read("line"), "through a stream");
   * await h[Symbol.asyncDispose]();
   * ```
   */
  static fromStreams(
    readable: ReadableStream<Uint8Array>,
    writable: WritableStream<Uint8Array>,
    options: HandleOptions = {},
  ): Handle {
    return new Handle(new StreamTransport(readable, writable), options);
  }

  /** The read buffer: the bytes read and not yet consumed by any reader. */
  get rbuf(): ReadBuffer {
    return this.#core.reader.rbuf;
  }

  /** Whether the handle has been destroyed (by `destroy()` or a fatal error). */
  get destroyed(): boolean {
    return !this.#core.open;
  }

  /** The fatal error that destroyed the handle, if any. */
  get error(): HandleError | undefined {
    return this.#core.error;
  }

  /** Whether end of input has been seen. */
  get eof(): boolean {
    return this.#core.reader.eof;
  }

  /**
   * Settles once the handle is destroyed and its I/O has stopped: resolves after `destroy()`,
   * rejects with the fatal `HandleError` otherwise. A rejection nobody awaits is not reported
   * as unhandled.
   */
  get closed(): Promise<void> {
    return this.#core.closed;
  }

  /** Unsent bytes: queued plus handed to the transport and not yet accepted. */
  get wbufLength(): number {
    return this.#core.pending;
  }

  /**
   * Bytes read from the connection so far (after TLS decryption: what readers see), as
   * Node's `socket.bytesRead`.
   *
   * @example Counting the bytes of a request and its reply
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * const peer = new Handle(await listener.accept());
   * h.pushWrite("ping\n");
   * assert.equal(await peer.read("line"), "ping");
   * peer.pushWrite("pong\n");
   * assert.equal(await h.read("line"), "pong");
   * assert.equal(h.bytesWritten, 5);
   * assert.equal(h.bytesRead, 5);
   * assert.ok(h.lastActivity >= h.createdAt);
   * h.destroy();
   * peer.destroy();
   * listener.close();
   * ```
   */
  get bytesRead(): number {
    return this.#core.bytesRead;
  }

  /** Bytes the connection has accepted for sending so far (before TLS encryption). */
  get bytesWritten(): number {
    return this.#core.bytesWritten;
  }

  /** When the handle was made, in milliseconds since the epoch (as `Date.now()`). */
  get createdAt(): number {
    return this.#core.createdAt;
  }

  /**
   * When the last read or write succeeded, in milliseconds since the epoch (`createdAt` until
   * one has): what an idle-connection sweep compares with `Date.now()`.
   */
  get lastActivity(): number {
    return this.#core.lastActivity;
  }

  // ---- settings: each mirrors its option (HandleOptionsFor). `declare` gives the type and
  // docs; the accessors come from the table in settings.ts, which the constructor uses too.

  /** The error callback; see {@linkcode HandleOptionsFor.onError}. */
  declare onError: HandleOptionsFor<this>["onError"];
  /** The end-of-input callback; see {@linkcode HandleOptionsFor.onEof}. */
  declare onEof: HandleCallbackFor<this> | undefined;
  /** The default reader; setting it dispatches what is buffered at once. */
  declare onRead: HandleCallbackFor<this> | undefined;
  /** The drain callback; setting it calls it at once if the write queue is drained. */
  declare onDrain: HandleCallbackFor<this> | undefined;
  /** See {@linkcode HandleOptionsFor.rbufMax}. */
  declare rbufMax: number;
  /** See {@linkcode HandleOptionsFor.wbufMax}. */
  declare wbufMax: number;
  /** The TLS settings for the next `starttls` (laid over `defaultTlsOptions`). */
  declare tlsOptions: TlsOptions | undefined;
  /** See {@linkcode HandleOptionsFor.onStarttls}. */
  declare onStarttls: HandleOptionsFor<this>["onStarttls"];
  /** See {@linkcode HandleOptionsFor.onStoptls}. */
  declare onStoptls: HandleCallbackFor<this> | undefined;
  /** The any-I/O inactivity timeout in seconds; setting it takes effect at once. */
  declare timeout: number;
  /** The read inactivity timeout in seconds; setting it takes effect at once. */
  declare rtimeout: number;
  /** The write inactivity timeout in seconds; setting it takes effect at once. */
  declare wtimeout: number;
  /** See {@linkcode HandleOptionsFor.onTimeout}. */
  declare onTimeout: HandleCallbackFor<this> | undefined;
  /** See {@linkcode HandleOptionsFor.onRtimeout}. */
  declare onRtimeout: HandleCallbackFor<this> | undefined;
  /** See {@linkcode HandleOptionsFor.onWtimeout}. */
  declare onWtimeout: HandleCallbackFor<this> | undefined;
  /** `TCP_NODELAY`; setting it applies it at once (TCP only). */
  declare noDelay: boolean;
  /** `SO_KEEPALIVE`; setting it applies it at once (TCP only). */
  declare keepalive: boolean;
  /** See {@linkcode HandleOptionsFor.linger}. */
  declare linger: number;
  /** See {@linkcode HandleOptionsFor.autocork}. */
  declare autocork: boolean;

  static {
    defineSettings(Handle.prototype, (h: Handle) => h.#core);
  }

  /** Marks activity now for `timeout` (a keep-alive the peer cannot see). */
  timeoutReset(): void {
    this.#core.resetTimeout("timeout");
  }

  /** Marks activity now for `rtimeout`. */
  rtimeoutReset(): void {
    this.#core.resetTimeout("rtimeout");
  }

  /** Marks activity now for `wtimeout`. */
  wtimeoutReset(): void {
    this.#core.resetTimeout("wtimeout");
  }

  // ---- addresses, TLS and other layers: documented in HandleLayers (handle_layers.ts) ----

  get remoteAddr(): Deno.Addr | undefined {
    return this.#core.addr("remoteAddr");
  }

  get localAddr(): Deno.Addr | undefined {
    return this.#core.addr("localAddr");
  }

  starttls(mode: TlsMode, options?: TlsOptions): void {
    if (!this.#core.open) throw this.#core.afterDestroyError("EPIPE");
    startTls(this, this.#core.site, mode, options);
  }

  stoptls(): void {
    stopTls(this.#core.topLayer, this.#core.transport);
  }

  get tls(): boolean {
    return tlsActive(this.#core.topLayer, this.#core.transport);
  }

  get alpnProtocol(): string | false | undefined {
    return alpnProtocol(this.#core.topLayer, this.#core.transport);
  }

  pushLayer<L extends Layer>(create: (ctx: LayerContext) => L): L {
    return this.#core.pushLayer(create);
  }

  // ---- reading: documented in HandleReading (handle_reading.ts) ----

  pushRead<R extends ReadTypeArg<Handle> | CustomReader, P extends unknown[]>(
    type: R,
    ...args: PushReadArgs<R, P, Handle>
  ): void {
    this.#core.enqueue(this.#core.reader.makeRequest(type, args), false);
  }

  unshiftRead<R extends ReadTypeArg<Handle> | CustomReader, P extends unknown[]>(
    type: R,
    ...args: PushReadArgs<R, P, Handle>
  ): void {
    this.#core.enqueue(this.#core.reader.makeRequest(type, args), true);
  }

  read<R extends ReadTypeArg<Handle>, P extends unknown[]>(
    type: R,
    ...args: ReadCallArgs<R, P, Handle, ReadOptions>
  ): Promise<ReadResultOf<R>> {
    return promiseRead(this.#core, type, args as unknown[]) as Promise<ReadResultOf<R>>;
  }

  iterate<R extends ReadTypeArg<Handle>, P extends unknown[]>(
    type: R,
    ...args: IterateArgs<R, P, Handle>
  ): ReadIterator<ReadResultOf<R>> {
    return iterateRead(this.#core, type, args as unknown[]) as ReadIterator<ReadResultOf<R>>;
  }

  stopRead(): void {
    this.#core.reader.stop();
  }

  startRead(): void {
    this.#core.reader.start();
  }

  // ---- writing: documented in HandleWriting (handle_writing.ts) ----

  pushWrite<W extends WriteTypeArg | string | Uint8Array, P extends unknown[]>(
    data: W,
    ...args: WriteArgs<W, P, Handle>
  ): boolean {
    // Text or bytes alone, the most frequent writes, go straight to the queue.
    if (args.length === 0 && typeof data === "string") return this.#core.queueText(data);
    if (args.length === 0 && data instanceof Uint8Array) return this.#core.queueBytes(data);
    return this.#write(data, args as unknown[], false);
  }

  unshiftWrite<W extends WriteTypeArg | string | Uint8Array, P extends unknown[]>(
    data: W,
    ...args: WriteArgs<W, P, Handle>
  ): boolean {
    return this.#write(data, args as unknown[], true);
  }

  /** Raw bytes or text go to the queue as lent; a typed write is encoded first (owned bytes). */
  #write(dataOrType: unknown, args: unknown[], atFront: boolean): boolean {
    const core = this.#core;
    if (args.length === 0 && (typeof dataOrType === "string" || dataOrType instanceof Uint8Array)) {
      return core.queueWrite(dataOrType, atFront, false);
    }
    const type = typeof dataOrType === "string" ? writeTypeNamed(dataOrType) : dataOrType;
    if (isWriteType(type)) checkArgCount(type, args.length, type.maxWriteArgs);
    return core.queueWrite(encodeTyped(type, args, core.codecs), atFront, true);
  }

  drain(options: ReadOptions = {}): Promise<void> {
    if (!this.#core.open) return Promise.reject(this.#core.afterDestroyError());
    return this.#core.writer.drain(options.signal);
  }

  pushShutdown(): void {
    if (this.#core.open) this.#core.writer.shutdown();
  }

  // ---- closing ----

  /**
   * Destroys the handle now: drops the read queue, rejects pending promise reads and
   * `drain()` with `ECANCELED`, and calls no callback afterwards. Bytes still queued for
   * writing are sent in the background for up to `linger` seconds (default 60; `0` drops
   * them), then the connection closes; without any, it closes at once. Idempotent. `h.closed`
   * resolves once the last byte has left (or the linger time ran out) and the I/O has stopped.
   *
   * @example A goodbye line pushed just before destroy() arrives
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const client = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * const server = new Handle(await listener.accept());
   * server.pushWrite("221 bye\r\n");
   * server.destroy();
   * assert.equal(await client.read("line"), "221 bye");
   * await server.closed;
   * client.destroy();
   * listener.close();
   * ```
   */
  destroy(): void {
    this.#core.teardown(undefined);
  }

  /**
   * `await using h = ...`: sends what is queued, half-closes, then destroys the handle and
   * waits for its I/O to stop. Errors are not thrown from here (see `h.closed`).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#core.open) {
      this.pushShutdown();
      await this.drain().catch(() => {});
    }
    this.destroy();
    await this.#core.closed.catch(() => {});
  }

  /** `using h = ...`: destroys the handle (what is queued still leaves, see `linger`). */
  [Symbol.dispose](): void {
    this.destroy();
  }
}
