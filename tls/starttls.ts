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
 * @returns The protocol, `false` if none was agreed (or the handshake has not finished), or
 * `undefined` without a TLS session started by the handle.
 */
export function alpnProtocol(top: Layer | undefined): string | false | undefined {
  return top instanceof TlsLayer ? top.alpnProtocol : undefined;
}

/**
 * Puts TLS between the handle and its transport, at once:
 * - the bytes in `h.rbuf` and the result of a read in flight are the start of the TLS
 *   stream: they are fed to TLS, never delivered as plaintext;
 * - bytes queued for writing before the call leave in plaintext, ahead of the handshake;
 *   what is pushed afterwards is encrypted;
 * - the read queue stays as it is and continues with the decrypted bytes.
 *
 * @param h The handle.
 * @param top The handle's layer on top, if any.
 * @param base The connection.
 * @param mode The role.
 * @param options The call's TLS options, laid over the handle's.
 * @throws {TypeError} For a bad mode, a missing certificate, or TLS already active.
 */
export function startTls<H extends TlsHost<H>>(
  h: H,
  top: Layer | undefined,
  base: Transport,
  mode: unknown,
  options?: TlsOptions,
): void {
  const prepared = prepareTls(mode, h.tlsOptions, options);
  if (tlsActive(top, base)) throw new TypeError("Cannot start TLS: TLS is already active");
  let ctx!: LayerContext;
  const session = h.pushLayer((context) => {
    ctx = context;
    return new TlsLayer(context, prepared.mode, prepared.options, {
      closeNotify: () => peerStoppedTls(h, ctx),
    });
  });
  session.handshake.then(
    () => {
      handshakeDone(h, ctx);
      session.release();
    },
    (err: unknown) => handshakeFailed(h, ctx, err),
  );
}

/**
 * Sends close_notify: what is written afterwards leaves in plaintext once it has gone out,
 * and reads return TLS data until the peer's close_notify, then plaintext. Does nothing
 * when TLS is not active (as AnyEvent::Handle).
 *
 * @param top The handle's layer on top, if any.
 */
export function stopTls(top: Layer | undefined): void {
  if (top instanceof TlsLayer) top.stop();
}

function handshakeDone<H extends TlsHost<H>>(h: H, ctx: LayerContext): void {
  if (!ctx.active) return;
  const onStarttls = h.onStarttls;
  if (onStarttls === undefined) return;
  try {
    onStarttls(h, true);
  } catch (e) {
    ctx.fail(callbackError(e, "onStarttls"));
  }
}

function handshakeFailed<H extends TlsHost<H>>(h: H, ctx: LayerContext, err: unknown): void {
  if (!ctx.active) return;
  const onStarttls = h.onStarttls;
  const error = err as HandleError;
  if (onStarttls === undefined) return ctx.fail(error);
  try {
    onStarttls(h, false, error);
  } catch (e) {
    console.error("@anyevent/handle: onStarttls threw:", e);
  }
  ctx.fail(error, true);
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
