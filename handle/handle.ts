/**
 * {@linkcode Handle}: buffered, non-blocking I/O on one connection.
 *
 * What `handle/` owns: the state machine (`core.ts`), the read buffer, the read and write
 * queues, timers and the layers over the transport. What it may not touch: framing (codecs
 * plug in as read and write type values, `base/codec.ts`) and TLS (a layer; the public
 * `starttls`/`stoptls` methods in `layers.ts` and the `tls` option are where `tls/` is called).
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";
import { ConnectingTransport } from "./connect.ts";
import type { ConnectCallbacks, ConnectTarget } from "./connect.ts";
import { HandleCore } from "./core.ts";
import type { HandleError } from "../base/errors.ts";
import type { ReadIterator } from "./iterate.ts";
import type { CustomReaderFor, HandleCallbackFor, HandleOptionsFor } from "./options.ts";
import { iterateRead, promiseRead, type ReadOptions } from "./read_calls.ts";
import { defineSettings, keepOptions } from "./settings.ts";
import { StreamTransport } from "./stream_transport.ts";
import { HandleServer, type ServedProxyInfo, type ServeOptions } from "./serve.ts";
import {
  type HandleSource,
  type LayerContext,
  toTransport,
  type TransportLayer,
} from "../base/transport.ts";
import type { ConnectAddr, ListenAddr, ServedAddr } from "./addresses.ts";
import { encodeTyped } from "./writer.ts";
import { checkArgCount, isWriteType } from "../base/codec.ts";
import { type ReadTypeNames, writeTypeNamed } from "./names.ts";
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
import type { TlsMode, TlsOptions } from "../tls/options.ts";
import { alpnProtocol, prepareTls, startTls, stopTls, tlsActive } from "../tls/starttls.ts";

export type { CustomReaderFor, HandleCallbackFor, HandleOptionsFor } from "./options.ts";

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
export type { ConnectCallbacks, ConnectTarget } from "./connect.ts";
export type { ServedProxyInfo, ServeOptions } from "./serve.ts";
export type { ConnectAddr, ListenAddr, ServedAddr } from "./addresses.ts";
export type { ReadOptions } from "./read_calls.ts";

/**
 * A handle whose `remoteAddr` and `localAddr` are known to be of type `A`: what
 * `Handle.serve` passes to `onConnection` (`AddressedHandle<Deno.NetAddr>` on a port) and
 * what `Handle.connect` returns (`AddressedHandle<Deno.NetAddr | undefined>`: `undefined`
 * until connected). It is a `Handle` in every other way, and may be passed as one.
 *
 * A connection callback declared apart, with this type for its parameter, is checked before
 * the listen options' type is known when those options hold callbacks with untyped
 * parameters (`onError: (h, err) => ...`); TypeScript then rejects it. Pass it on from an
 * arrow function instead: `Handle.serve(options, (h) => onClient(h))`.
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
export type AddressedHandle<A extends Deno.Addr | undefined> = Handle & {
  /** The peer's address. */
  readonly remoteAddr: A;
  /** This side's address. */
  readonly localAddr: A;
};

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
    if (options.tls !== undefined) startTls(this, transport, options.tls);
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
    const transport = new ConnectingTransport();
    const h = new Handle(transport, options);
    const core = h.#core;
    core.track(transport.start(target, options, {
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
    const tls = options.handle?.tls;
    if (tls !== undefined) prepareTls(tls, options.handle?.tlsOptions); // fail (or warn) now
    return new HandleServer<AddressedHandle<ServedAddr<O>>, ListenAddr<O>>(options, onConnection, {
      // The listener's kind fixes the conn's addresses (see ServedAddr).
      make: (conn) => new Handle(conn, options.handle) as AddressedHandle<ServedAddr<O>>,
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

  // ---- settings ----
  // Each mirrors the option of the same name (see HandleOptionsFor). Their accessors are made
  // from the table in settings.ts, which checks, keeps and applies a value as the constructor
  // does; `declare` only gives them their types and docs here.

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

  /**
   * The peer's address (`Deno.NetAddr` for TCP, `Deno.UnixAddr` for Unix sockets), the same
   * under TLS; `undefined` for pipes and streams and before `Handle.connect` has connected.
   * Behind a balancer, `serve({ proxy: true })` makes it the client's address from the PROXY
   * header.
   *
   * @example The two ends of a loopback connection
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const h = new Handle(await listener.accept());
   * assert.deepEqual(h.remoteAddr, conn.localAddr);
   * assert.deepEqual(h.localAddr, conn.remoteAddr);
   * h.destroy();
   * conn.close();
   * listener.close();
   * ```
   */
  get remoteAddr(): Deno.Addr | undefined {
    return this.#core.addr("remoteAddr");
  }

  /** This side's address; see {@linkcode Handle.remoteAddr}. */
  get localAddr(): Deno.Addr | undefined {
    return this.#core.addr("localAddr");
  }

  // ---- TLS ----

  /**
   * Starts TLS on this connection now, in the role given (`"connect"`: client, `"accept"`:
   * server), with `options` laid over the handle's `tlsOptions` and `defaultTlsOptions`.
   * Callable at any time, typically from the read callback that saw the peer agree (SMTP's
   * `220 Ready to start TLS`):
   * - the bytes already in `h.rbuf` (and those of a read in flight) are the start of the TLS
   *   stream: they go to TLS and are never delivered as plaintext. A peer that pipelines
   *   plaintext after its STARTTLS command therefore fails the handshake (`EPROTO`) instead
   *   of having that plaintext taken for data that came over TLS;
   * - what was pushed for writing before the call leaves in plaintext, ahead of the handshake
   *   (the `220` reply); what is pushed afterwards is encrypted;
   * - queued reads stay queued and are satisfied from the decrypted stream.
   *
   * The handshake's result goes to `onStarttls(h, ok, err)`; without it a failure is a fatal
   * `EPROTO` whose message names the problem (an unknown CA, a name mismatch, ...).
   *
   * @param mode `"connect"` or `"accept"`.
   * @param options TLS settings for this session.
   * @throws {TypeError} For a bad mode, `"accept"` without `cert` and `key`, or TLS already
   * active.
   * @throws {HandleError} `EPIPE` if the handle is destroyed.
   *
   * @example Upgrading both ends of a connection
   * ```ts ignore
   * const server = new Handle(await listener.accept());
   * const client = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }));
   * client.starttls("connect", { caCerts: [ca], hostname: "localhost" });
   * server.starttls("accept", { cert, key });
   * client.pushWrite("secret\n");
   * console.log(await server.read("line")); // "secret", sent over TLS
   * ```
   */
  starttls(mode: TlsMode, options?: TlsOptions): void {
    if (!this.#core.open) throw this.#core.afterDestroyError("EPIPE");
    startTls(this, this.#core.transport, mode, options);
  }

  /**
   * Ends TLS with close_notify; what is pushed afterwards is written in plaintext once the
   * close_notify has left. Reads return the remaining TLS data, then plaintext, from the
   * moment the peer has ended TLS too: by its own close_notify (OpenSSL answers one), or, from
   * a peer that does not answer (Deno's TLS layer, and so a peer of this library), by its
   * first bytes that are not a TLS record. `onStoptls` is called then, if set.
   *
   * The peer: a handle of this library with `onStoptls` takes the close_notify as the end of
   * TLS and goes on in plaintext (and may `starttls` again later); without `onStoptls` it is
   * end of input, as in AnyEvent::Handle. AnyEvent::Handle never answers a close_notify, so
   * with an AnyEvent peer this side's reads stay in TLS.
   *
   * Does nothing when TLS is not active, or when TLS is the `Deno.TlsConn` under the handle
   * (Deno cannot take TLS off such a conn).
   */
  stoptls(): void {
    stopTls(this.#core.transport);
  }

  /**
   * Whether TLS is active: started by the handle (handshaking or established) and not
   * stopped, or the handle's conn is a `Deno.TlsConn`.
   */
  get tls(): boolean {
    return tlsActive(this.#core.transport);
  }

  /**
   * The ALPN protocol negotiated by `starttls` or the `tls` option: a name, `false` if none
   * (or before the handshake ends), `undefined` if the handle started no TLS (for a
   * `Deno.TlsConn`, ask the conn's `handshake()`).
   */
  get alpnProtocol(): string | false | undefined {
    return alpnProtocol(this.#core.transport);
  }

  // ---- transport layers ----

  /**
   * Puts a transport layer on top of the connection, now, in the middle of the stream: the
   * layer is fed the bytes already in `h.rbuf` (and what a read in flight returns), the bytes
   * queued for writing before the call leave through the transport below first, and the read
   * queue goes on, reading the layer. The layer takes itself off with its context's
   * `remove()`, handing back what it read and did not use. TLS (`starttls`) is such a layer;
   * a decompressor, or a layer that strips a header, can be another.
   *
   * @param create Makes the layer from its {@linkcode LayerContext}: `below` is the transport
   * to read and write, once `readsBefore` and `writesBefore` have settled.
   * @returns The layer.
   * @throws {HandleError} `EPIPE` if the handle is destroyed.
   *
   * @example A layer that turns the peer's lowercase into uppercase, started mid-stream
   * ```ts
   * import { Handle, type LayerContext, type TransportLayer } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * class Upcase implements TransportLayer {
   *   #early: Uint8Array[] = [];
   *   constructor(readonly ctx: LayerContext) {}
   *   feed(bytes: Uint8Array | null) {
   *     if (bytes) this.#early.push(bytes);
   *   }
   *   async read(p: Uint8Array): Promise<number | null> {
   *     const early = this.#early.shift();
   *     let n: number | null;
   *     if (early) {
   *       p.set(early);
   *       n = early.length;
   *     } else {
   *       await this.ctx.readsBefore;
   *       n = await this.ctx.below.read(p);
   *     }
   *     for (let i = 0; n !== null && i < n; i++) if (p[i] >= 97 && p[i] <= 122) p[i] -= 32;
   *     return n;
   *   }
   *   async write(p: Uint8Array) {
   *     await this.ctx.writesBefore;
   *     return this.ctx.below.write(p);
   *   }
   *   closeWrite() {
   *     return this.ctx.below.closeWrite();
   *   }
   *   close() {}
   *   detach() {
   *     return Promise.resolve({ rest: this.#early.splice(0), eof: false });
   *   }
   * }
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const peer = listener.accept().then(async (conn) => {
   *   await conn.write(new TextEncoder().encode("plain\nshout\n"));
   *   return conn;
   * });
   * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * assert.equal(await h.read("line"), "plain");
   * h.pushLayer((ctx) => new Upcase(ctx)); // "shout\n" may already be in h.rbuf: it is fed in
   * assert.equal(await h.read("line"), "SHOUT");
   * h.destroy();
   * (await peer).close();
   * listener.close();
   * ```
   */
  pushLayer<L extends TransportLayer>(create: (ctx: LayerContext) => L): L {
    return this.#core.pushLayer(create);
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
   * @param type A custom reader, or a read type (`line`, `chunk`, ...; `chunk(4)` with its
   * arguments bound) or its AnyEvent name (`"line"`).
   * @param args The type's arguments, then `(h, ...values) => void` (for a type that acts by
   * itself, such as `tlsAutostart`, its arguments alone); none after a custom reader.
   * @throws {TypeError} For an unknown read type, a missing callback, or more arguments than
   * the type takes.
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
  pushRead<R extends ReadTypeArg<Handle> | CustomReader, P extends unknown[]>(
    type: R,
    ...args: PushReadArgs<R, P, Handle>
  ): void {
    this.#core.enqueue(this.#core.reader.makeRequest(type, args), false);
  }

  /**
   * Like {@linkcode Handle.pushRead}, but puts the read at the head of the queue: called from
   * a read callback, it runs before every read queued earlier (two unshifts run last-in
   * first-out).
   *
   * @param type A custom reader, or a read type or its name.
   * @param args The type's arguments, then the callback.
   * @throws {TypeError} For an unknown read type, a missing callback, or more arguments than
   * the type takes.
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
  unshiftRead<R extends ReadTypeArg<Handle> | CustomReader, P extends unknown[]>(
    type: R,
    ...args: PushReadArgs<R, P, Handle>
  ): void {
    this.#core.enqueue(this.#core.reader.makeRequest(type, args), true);
  }

  /**
   * Queues a typed read and returns a promise of its first value (`line` resolves with the
   * line, `chunk` with the bytes). It rejects with the `HandleError` that failed it: `EPIPE`
   * at end of input, the codec's error, or `ECANCELED` if the handle is destroyed first.
   *
   * A last argument `{ signal }` (an object with only that key) is not passed to the type:
   * aborting the signal removes the read from the queue without consuming a byte, rejects it
   * with a non-fatal `ECANCELED`, and the reads after it go on.
   *
   * Mistakes in the arguments (an unknown type name, a missing `chunk` length, too many
   * arguments) reject the promise too, with the `TypeError` or `RangeError` that says so.
   *
   * @param type A read type (`chunk(4)` with its arguments bound), or its name.
   * @param args The type's arguments, optionally followed by `{ signal }`.
   * @returns The first value the type delivers.
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
  read<R extends ReadTypeArg<Handle>, P extends unknown[]>(
    type: R,
    ...args: ReadCallArgs<R, P, Handle, ReadOptions>
  ): Promise<ReadResultOf<R>> {
    return promiseRead(this.#core, type, args as unknown[]) as Promise<ReadResultOf<R>>;
  }

  /**
   * Iterates over the values of a read type until end of input. Each step is one read request
   * in the queue, so the loop interleaves correctly with other reads; the iteration ends
   * cleanly at end of input between frames, and throws the `HandleError` otherwise (`EPIPE`
   * for a partial frame at end of input). Leaving the loop early (`break`) leaves the bytes
   * not yet decoded in `h.rbuf` for the next reader.
   *
   * Mistakes in the arguments (an unknown type name, a missing `chunk` length, too many
   * arguments) reject the first `next()` with the `TypeError` or `RangeError` that says so.
   *
   * @param type A read type, or its name.
   * @param args The type's arguments.
   * @returns An async iterator of the type's first value.
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
  iterate<R extends ReadTypeArg<Handle>, P extends unknown[]>(
    type: R,
    ...args: IterateArgs<R, P, Handle>
  ): ReadIterator<ReadResultOf<R>> {
    return iterateRead(this.#core, type, args as unknown[]) as ReadIterator<ReadResultOf<R>>;
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
    this.#core.reader.stop();
  }

  /**
   * Starts reading, as AnyEvent's `start_read`: after `stopRead()` it resumes and dispatches
   * what was buffered meanwhile; on a handle with nothing queued it reads all the same (into
   * `h.rbuf`, up to `maxReadSize` bytes while nobody consumes them), so that a handle that only
   * wants to notice the peer closing does: end of input then calls `onEof`, or is a fatal
   * `EPIPE` without it. A no-op after end of input.
   *
   * @example Noticing that an idle peer went away
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const h = new Handle(await listener.accept());
   * h.startRead();
   * conn.close();
   * await assert.rejects(h.closed, { code: "EPIPE" });
   * listener.close();
   * ```
   */
  startRead(): void {
    this.#core.reader.start();
  }

  // ---- writing ----

  /**
   * Queues bytes (a string is encoded as UTF-8), or a typed write, to be sent after everything
   * queued before. A typed write is a write type (`netstring`, `json`, ...) or its AnyEvent
   * name (`"netstring"`), then its arguments; a string alone is always text. The bytes are
   * copied, so the caller may reuse its array at once.
   *
   * Returns whether the caller may go on writing: `false` once more than `highWaterMark`
   * bytes (64 KiB by default) are unsent, as Node's `socket.write()` does. The bytes are queued
   * either way; wait for `onDrain` or `await h.drain()` before writing more.
   *
   * @param data Text or bytes, or a write type or its name.
   * @param args The write type's arguments (none for text or bytes).
   * @returns `false` when more than `highWaterMark` bytes are unsent (or the handle is gone).
   * @throws {TypeError} For an unknown write type, more arguments than the type takes, or
   * after `pushShutdown()`.
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
  pushWrite<W extends WriteTypeArg | string | Uint8Array, P extends unknown[]>(
    data: W,
    ...args: WriteArgs<W, P, Handle>
  ): boolean {
    return this.#write(data, args as unknown[], false);
  }

  /**
   * Like {@linkcode Handle.pushWrite}, but puts the bytes in front of everything not yet
   * handed to the transport (bytes already being written go first).
   *
   * @returns `false` when more than `highWaterMark` bytes are unsent, as `pushWrite`.
   * @param data Text or bytes, or a write type or its name.
   * @param args The write type's arguments (none for text or bytes).
   * @throws {TypeError} For an unknown write type, more arguments than the type takes, or
   * after `pushShutdown()`.
   * @throws {HandleError} `EPIPE` if the handle is destroyed.
   */
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
      core.queueWrite(dataOrType, atFront, false);
    } else {
      const type = typeof dataOrType === "string" ? writeTypeNamed(dataOrType) : dataOrType;
      if (isWriteType(type)) checkArgCount(type, args.length, type.maxWriteArgs);
      core.queueWrite(encodeTyped(type, args, core.codecs), atFront, true);
    }
    return core.open && core.pending <= core.highWaterMark;
  }

  /**
   * Resolves when every queued byte has been accepted by the transport. Rejects with the fatal
   * `HandleError`, or `ECANCELED` if the handle is destroyed first.
   *
   * @param options `signal`: aborting it rejects with a non-fatal `ECANCELED` (the bytes stay
   * queued).
   * @returns A promise of the drained write queue.
   */
  drain(options: ReadOptions = {}): Promise<void> {
    if (!this.#core.open) return Promise.reject(this.#core.afterDestroyError());
    return this.#core.writer.drain(options.signal);
  }

  /**
   * Half-closes the connection once the write queue is empty: the peer sees end of input,
   * and reading continues until the peer's own end of input. Writing afterwards throws.
   */
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
