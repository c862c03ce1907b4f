/**
 * Starting and stopping TLS on a live handle: what `h.starttls()`, `h.stoptls()` and the
 * `tls` option do. TLS is a transport layer like any other: it is pushed on the handle with
 * `pushLayer` and takes itself off with its context's `remove()`.
 *
 * What `tls/` owns: the TLS session (`node:tls`, loaded on first use), its options, and the
 * `tls_detect` / `tls_autostart` read types. What it may not touch: the handle's internals; it
 * depends only on the transport interface, `HandleError`, the registry and the public
 * settings and `pushLayer` of a handle.
 *
 * @module
 */
import { callbackError, type HandleError } from "../base/errors.ts";
import type { Transport } from "../base/transport.ts";
import type { Layer, LayerContext } from "../base/layer.ts";
import {
  checkTlsMode,
  mergeTlsOptions,
  type TlsMode,
  type TlsOptions,
  warnSniWithoutDefault,
} from "./options.ts";
import { TlsLayer } from "./tls_layer.ts";
import {
  nativeAcceptOptions,
  nativeConnectOptions,
  type NativeListenOptions,
  NativeTls,
} from "./native_tls.ts";

/** What TLS needs from a handle; the public `Handle` has it. */
export interface TlsHost<H> {
  /** The handle's TLS settings, laid over `defaultTlsOptions`. */
  readonly tlsOptions: TlsOptions | undefined;
  /** Told the handshake's result. */
  readonly onStarttls: ((h: H, ok: boolean, err?: HandleError) => void) | undefined;
  /** Told that the peer ended TLS and the connection goes on in plaintext. */
  readonly onStoptls: ((h: H) => void) | undefined;
  /** Puts a transport layer on top of the current transport. */
  pushLayer<L extends Layer>(create: (ctx: LayerContext) => L): L;
}

/**
 * What starting TLS needs of a handle beyond its public API (`Handle` gives it): where its
 * layers and connection stand, and how to swap the connection for a native TLS one.
 */
export interface TlsSite {
  /** The handle's layer on top, if any. */
  readonly top: Layer | undefined;
  /** The connection (now: it changes when a native session starts). */
  readonly base: Transport;
  /** Whether the handle is open. */
  readonly open: boolean;
  /**
   * Replaces the connection in place when nothing is in flight on it (see
   * `HandleCore.upgradeConnection`).
   *
   * @returns Whether it was replaced.
   */
  upgrade(make: (flushed: Promise<void>) => Transport): boolean;
  /** Destroys the handle with `err`; `reported`: the application was told already. */
  fail(err: HandleError, reported?: boolean): void;
}

/**
 * Checks a TLS mode and options before anything changes, and merges the options with the
 * handle's and the global defaults.
 *
 * @param mode `"connect"` or `"accept"`.
 * @param layers The handle's `tlsOptions`, then the call's.
 * @returns The mode and the merged options.
 * @throws {TypeError} For a bad mode, or `"accept"` without a certificate and key.
 * Warns once per `sni` table given to `"accept"` without a default certificate.
 */
export function prepareTls(
  mode: unknown,
  ...layers: (TlsOptions | undefined)[]
): { mode: TlsMode; options: TlsOptions } {
  const checked = checkTlsMode(mode);
  const options = mergeTlsOptions(...layers);
  if (checked === "accept" && (!options.cert || !options.key) && options.sni === undefined) {
    throw new TypeError("Cannot accept TLS without tlsOptions.cert and tlsOptions.key (or sni)");
  }
  for (const [name, entry] of Object.entries(options.sni ?? {})) {
    if (typeof entry?.cert !== "string" || typeof entry?.key !== "string") {
      throw new TypeError(`Cannot use tlsOptions.sni["${name}"]: expected { cert, key } in PEM`);
    }
  }
  if (checked === "accept") warnSniWithoutDefault(options);
  return { mode: checked, options };
}

/** What `Handle.serve` tells TLS of a server: its listener and its handles' options. */
export interface ServingTls {
  /** PROXY headers come first, in plaintext. */
  proxy?: boolean;
  /** Whether Deno may run the sessions (see `ServeOptions.nativeTls`). */
  nativeTls?: boolean;
  /** A Unix socket path. */
  path?: string;
  /** The options of every handle. */
  handle?: { tls?: TlsMode; tlsOptions?: TlsOptions; onStoptls?: unknown };
}

/**
 * Checks a server's TLS options at start-up (a missing certificate throws, an `sni` table
 * without a default warns, once), and says whether Deno runs its sessions natively: a TCP
 * listener asked to (`nativeTls`) that serves TLS from the first byte (`tls: "accept"`, no
 * PROXY header before it), with options `Deno.listenTls` can honour (see
 * `nativeAcceptOptions`) and no `onStoptls`.
 *
 * @param options The server's options.
 * @returns The `Deno.listenTls` options, or `undefined` for a plain listener.
 * @throws {TypeError} For a bad mode or a missing certificate.
 */
export function nativeServing(options: ServingTls): NativeListenOptions | undefined {
  const handle = options.handle;
  if (handle?.tls === undefined) return undefined;
  const prepared = prepareTls(handle.tls, handle.tlsOptions);
  if (prepared.mode !== "accept" || !options.nativeTls) return undefined;
  if (options.proxy || options.path !== undefined) return undefined;
  if (handle.onStoptls !== undefined) return undefined;
  return nativeAcceptOptions(prepared.options);
}

/**
 * Whether the connection speaks TLS: a session the handle started that has not been
 * stopped, or a `Deno.TlsConn` (which has `handshake()`).
 *
 * @param top The handle's layer on top, if any.
 * @param base The connection.
 * @returns Whether TLS is active.
 */
export function tlsActive(top: Layer | undefined, base: Transport): boolean {
  if (top instanceof TlsLayer) return !top.plaintext;
  return typeof (base as Partial<Deno.TlsConn>).handshake === "function";
}

/**
 * The ALPN protocol the session negotiated.
 *
 * @param top The handle's layer on top, if any.
 * @param base The connection.
 * @returns The protocol, `false` if none was agreed (or the handshake has not finished), or
 * `undefined` without a TLS session started by the handle.
 */
export function alpnProtocol(top: Layer | undefined, base: Transport): string | false | undefined {
  if (top instanceof TlsLayer) return top.alpnProtocol;
  return base instanceof NativeTls ? base.alpnProtocol : undefined;
}

/**
 * Puts TLS between the handle and its transport, at once:
 * - the bytes in `h.rbuf` and the result of a read in flight are the start of the TLS
 *   stream: they are fed to TLS, never delivered as plaintext;
 * - bytes queued for writing before the call leave in plaintext, ahead of the handshake;
 *   what is pushed afterwards is encrypted;
 * - the read queue stays as it is and continues with the decrypted bytes.
 *
 * The client role runs natively (Deno's rustls under the socket, see `native_tls.ts`) where
 * it can: a TCP connection with nothing in flight on it and nothing read yet, options Deno's
 * `startTls` can honour, and no `onStoptls` (a native session cannot go back to plaintext).
 * Everything else is the `node:tls` layer.
 *
 * @param h The handle.
 * @param site Where the handle's layers and connection stand.
 * @param mode The role.
 * @param options The call's TLS options, laid over the handle's.
 * @throws {TypeError} For a bad mode, a missing certificate, or TLS already active.
 */
export function startTls<H extends TlsHost<H>>(
  h: H,
  site: TlsSite,
  mode: unknown,
  options?: TlsOptions,
): void {
  const prepared = prepareTls(mode, h.tlsOptions, options);
  if (tlsActive(site.top, site.base)) {
    throw new TypeError("Cannot start TLS: TLS is already active");
  }
  if (prepared.mode === "connect" && startNativeClient(h, site, prepared.options)) return;
  let ctx!: LayerContext;
  const session = h.pushLayer((context) => {
    ctx = context;
    return new TlsLayer(context, prepared.mode, prepared.options, {
      closeNotify: () => peerStoppedTls(h, ctx),
    });
  });
  const fail = (err: HandleError, reported?: boolean) => ctx.fail(err, reported);
  session.handshake.then(
    () => {
      if (ctx.active) handshakeDone(h, fail);
      session.release();
    },
    (err: unknown) => {
      if (ctx.active) handshakeFailed(h, fail, err as HandleError);
    },
  );
}

/**
 * Starts a native client session in place of the connection, if Deno can run this one.
 *
 * @returns Whether it did.
 */
function startNativeClient<H extends TlsHost<H>>(
  h: H,
  site: TlsSite,
  options: TlsOptions,
): boolean {
  const startOptions = nativeConnectOptions(options);
  const base = site.base;
  const conn = tcpConn(base);
  const tcp = conn ?? base.tcpConnection;
  if (startOptions === undefined || tcp === undefined || h.onStoptls !== undefined) return false;
  let session: NativeTls | undefined;
  const addresses = () => conn ?? connectedOrNothing(base);
  const upgraded = site.upgrade((flushed) =>
    session = new NativeTls(
      flushed.then(async () => Deno.startTls(await tcp, startOptions)),
      addresses,
      base,
    )
  );
  if (!upgraded) return false;
  watchNativeTls(h, site, session!);
  return true;
}

/** The transport as a `Deno.TcpConn` (a plain TCP socket, not TLS), if it is one. */
function tcpConn(base: Transport): Deno.TcpConn | undefined {
  const conn = base as Partial<Deno.TcpConn & Deno.TlsConn>;
  if (typeof conn.setNoDelay !== "function" || typeof conn.handshake === "function") {
    return undefined;
  }
  return conn.remoteAddr?.transport === "tcp" ? conn as Deno.TcpConn : undefined;
}

/** The addresses of a transport that connects itself, once it has. */
function connectedOrNothing(base: Transport): Partial<Deno.Conn> {
  return (base as { conn?: Deno.Conn }).conn ?? {};
}

/**
 * Reports the handshake of a native session to the handle (`onStarttls`, or a fatal error),
 * as the layer's is.
 *
 * @param h The handle.
 * @param site Where the handle fails.
 * @param session The session, the handle's connection.
 */
export function watchNativeTls<H extends TlsHost<H>>(
  h: H,
  site: TlsSite,
  session: NativeTls,
): void {
  const fail = (err: HandleError, reported?: boolean) => site.fail(err, reported);
  session.onHandshake((err) => {
    if (!site.open || site.base !== session) return;
    if (err === undefined) handshakeDone(h, fail);
    else handshakeFailed(h, fail, err);
  });
}

/**
 * Sends close_notify: what is written afterwards leaves in plaintext once it has gone out,
 * and reads return TLS data until the peer's close_notify, then plaintext. Does nothing
 * when TLS is not active (as AnyEvent::Handle).
 *
 * @param top The handle's layer on top, if any.
 * @param base The connection.
 * @throws {TypeError} For a session Deno runs natively, which cannot go back to plaintext.
 */
export function stopTls(top: Layer | undefined, base: Transport): void {
  if (top instanceof TlsLayer) return top.stop();
  if (top === undefined && base instanceof NativeTls) {
    throw new TypeError(
      "Cannot stop a TLS session that Deno runs natively: set onStoptls (a no-op will do) " +
        "before TLS starts, and the session runs through node:tls, which can stop",
    );
  }
}

type Fail = (err: HandleError, reported?: boolean) => void;

function handshakeDone<H extends TlsHost<H>>(h: H, fail: Fail): void {
  const onStarttls = h.onStarttls;
  if (onStarttls === undefined) return;
  try {
    onStarttls(h, true);
  } catch (e) {
    fail(callbackError(e, "onStarttls"));
  }
}

function handshakeFailed<H extends TlsHost<H>>(h: H, fail: Fail, error: HandleError): void {
  const onStarttls = h.onStarttls;
  if (onStarttls === undefined) return fail(error);
  try {
    onStarttls(h, false, error);
  } catch (e) {
    console.error("@anyevent/handle: onStarttls threw:", e);
  }
  fail(error, true);
}

/** The peer sent close_notify: go on in plaintext if the handle has `onStoptls`. */
function peerStoppedTls<H extends TlsHost<H>>(h: H, ctx: LayerContext): boolean {
  const onStoptls = h.onStoptls;
  if (onStoptls === undefined || !ctx.active) return false;
  queueMicrotask(() => {
    if (!ctx.open) return;
    try {
      onStoptls(h);
    } catch (e) {
      ctx.fail(callbackError(e, "onStoptls"));
    }
  });
  return true;
}
