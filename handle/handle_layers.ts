/**
 * {@linkcode HandleLayers}: what runs between a handle's queues and its connection, TLS
 * (`starttls`, `stoptls`) and any other transport layer (`pushLayer`), and the addresses of
 * the connection under them, documented here; `Handle` (`handle.ts`) implements it over its
 * transport stack (`layer_stack.ts`) and `tls/`.
 *
 * @module
 */
import type { Layer, LayerContext } from "../base/layer.ts";
import type { TlsMode, TlsOptions } from "../tls/options.ts";

/**
 * The layers of a handle: TLS and other transports stacked on its connection mid-stream, and
 * the connection's addresses. `Handle` implements it.
 *
 * @example A handle without TLS
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
 * const h = Handle.fromStreams(readable, writable);
 * assert.equal(h.tls, false);
 * assert.equal(h.alpnProtocol, undefined);
 * h.stoptls(); // nothing to stop
 * h.destroy();
 * ```
 */
export interface HandleLayers {
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
  readonly remoteAddr: Deno.Addr | undefined;

  /** This side's address; see {@linkcode HandleLayers.remoteAddr}. */
  readonly localAddr: Deno.Addr | undefined;

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
  starttls(mode: TlsMode, options?: TlsOptions): void;

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
  stoptls(): void;

  /**
   * Whether TLS is active: started by the handle (handshaking or established) and not
   * stopped, or the handle's conn is a `Deno.TlsConn`.
   */
  readonly tls: boolean;

  /**
   * The ALPN protocol negotiated by `starttls` or the `tls` option: a name, `false` if none
   * (or before the handshake ends), `undefined` if the handle started no TLS (for a
   * `Deno.TlsConn`, ask the conn's `handshake()`).
   */
  readonly alpnProtocol: string | false | undefined;

  /**
   * Puts a layer on top of the connection, now, in the middle of the stream (see
   * {@linkcode Layer}): bytes are pushed through it both ways. The bytes already in `h.rbuf`
   * are its first input, the bytes queued for writing before the call go out below it, and
   * the readers go on with what it passes up. It takes itself off with its context's
   * `remove()`, handing back what it received and did not use. TLS (`starttls`) is such a
   * layer; a decompressor (IMAP's `COMPRESS=DEFLATE`), or a layer that strips a header, can be
   * another.
   *
   * @param create Makes the layer from its {@linkcode LayerContext} (`up`, `end`, `down`,
   * `endDown`, `wantInput`, `remove`, `fail`).
   * @returns The layer.
   * @throws {HandleError} `EPIPE` if the handle is destroyed.
   *
   * @example A layer that turns the peer's lowercase into uppercase, started mid-stream
   * ```ts
   * import { Handle, type Layer, type LayerContext } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * class Upcase implements Layer {
   *   constructor(readonly ctx: LayerContext) {}
   *   inbound(bytes: Uint8Array | null) {
   *     if (bytes === null) return this.ctx.end();
   *     this.ctx.up(bytes.map((b) => b >= 97 && b <= 122 ? b - 32 : b));
   *   }
   *   outbound(bytes: Uint8Array) {
   *     return this.ctx.down(bytes.slice());
   *   }
   *   endOutbound() {
   *     return this.ctx.endDown();
   *   }
   *   removed() {
   *     return [];
   *   }
   *   close() {}
   * }
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const peer = listener.accept().then(async (conn) => {
   *   await conn.write(new TextEncoder().encode("plain\nshout\n"));
   *   return conn;
   * });
   * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * assert.equal(await h.read("line"), "plain");
   * h.pushLayer((ctx) => new Upcase(ctx)); // "shout\n" may already be in h.rbuf: it goes in
   * assert.equal(await h.read("line"), "SHOUT");
   * h.destroy();
   * (await peer).close();
   * listener.close();
   * ```
   */
  pushLayer<L extends Layer>(create: (ctx: LayerContext) => L): L;
}
