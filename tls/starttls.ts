/**
 * Starting and stopping TLS on a live handle: what `h.starttls()`, `h.stoptls()` and the
 * `tls` option do to the handle's transport, buffers and callbacks.
 *
 * @module
 */
import type { HandleCore } from "../handle/core.ts";
import { callbackError } from "../handle/options.ts";
import { checkTlsMode, mergeTlsOptions, type TlsMode, type TlsOptions } from "./options.ts";
import { TlsTransport } from "./tls_transport.ts";

/**
 * Checks a TLS mode and options before anything changes, and merges the options with the
 * handle's and the global defaults.
 *
 * @param mode `"connect"` or `"accept"`.
 * @param layers The handle's `tlsOptions`, then the call's.
 * @returns The mode and the merged options.
 * @throws {TypeError} For a bad mode, or `"accept"` without a certificate and key.
 */
export function prepareTls(
  mode: unknown,
  ...layers: (TlsOptions | undefined)[]
): { mode: TlsMode; options: TlsOptions } {
  const checked = checkTlsMode(mode);
  const options = mergeTlsOptions(...layers);
  if (checked === "accept" && (!options.cert || !options.key)) {
    throw new TypeError("Cannot accept TLS without tlsOptions.cert and tlsOptions.key");
  }
  return { mode: checked, options };
}

/**
 * Whether the handle speaks TLS: a session it started that has not been stopped, or a
 * `Deno.TlsConn` (which has `handshake()`) as its transport.
 */
export function tlsActive(core: HandleCore): boolean {
  const transport = core.transport;
  if (transport instanceof TlsTransport) return !transport.plaintext;
  return typeof (transport as Partial<Deno.TlsConn>).handshake === "function";
}

/**
 * The ALPN protocol the session negotiated.
 *
 * @param core The handle.
 * @returns The protocol, `false` if none was agreed (or the handshake has not finished), or
 * `undefined` without a TLS session started by the handle.
 */
export function alpnProtocol(core: HandleCore): string | false | undefined {
  return core.transport instanceof TlsTransport ? core.transport.alpnProtocol : undefined;
}

/**
 * Puts TLS between the handle and its transport, at once:
 * - the bytes in `h.rbuf` and the result of a read in flight are the start of the TLS
 *   stream: they are fed to TLS, never delivered as plaintext;
 * - bytes queued for writing before the call leave in plaintext, ahead of the handshake;
 *   what is pushed afterwards is encrypted;
 * - the read queue stays as it is and continues with the decrypted bytes.
 *
 * @param core The handle.
 * @param mode The role.
 * @param options The call's TLS options, laid over the handle's.
 * @throws {TypeError} For a bad mode, a missing certificate, or TLS already active.
 */
export function startTls(core: HandleCore, mode: unknown, options?: TlsOptions): void {
  const prepared = prepareTls(mode, core.tlsOptions, options);
  if (tlsActive(core)) throw new TypeError("Cannot start TLS: TLS is already active");
  const writeBarrier = core.writer.flushToCurrent();
  const readBarrier = core.reader.readInFlight ?? Promise.resolve();
  const session = new TlsTransport(
    core.transport,
    prepared.mode,
    prepared.options,
    { closeNotify: () => peerStoppedTls(core) },
    readBarrier,
    writeBarrier,
  );
  session.feed(core.reader.rbuf.takeAll());
  core.transport = session;
  session.handshake.then(
    () => handshakeDone(core, session),
    (err) => handshakeFailed(core, session, err),
  );
}

/**
 * Sends close_notify: what is written afterwards leaves in plaintext once it has gone out,
 * and reads return TLS data until the peer's close_notify, then plaintext. Does nothing
 * when TLS is not active (as AnyEvent::Handle).
 *
 * @param core The handle.
 */
export function stopTls(core: HandleCore): void {
  if (core.transport instanceof TlsTransport) core.transport.stop();
}

function handshakeDone(core: HandleCore, session: TlsTransport): void {
  if (!core.open || core.transport !== session) return;
  const onStarttls = core.onStarttls;
  if (onStarttls === undefined) return;
  try {
    onStarttls(core.owner, true);
  } catch (e) {
    core.fatal(callbackError(e, "onStarttls"));
  }
}

function handshakeFailed(core: HandleCore, session: TlsTransport, err: unknown): void {
  if (!core.open || core.transport !== session) return;
  const onStarttls = core.onStarttls;
  const error = err as Parameters<HandleCore["fatal"]>[0];
  if (onStarttls === undefined) return core.fatal(error);
  core.error = error;
  try {
    onStarttls(core.owner, false, error);
  } catch (e) {
    console.error("@anyevent/handle: onStarttls threw:", e);
  }
  core.teardown(error);
}

/** The peer sent close_notify: go on in plaintext if the handle has `onStoptls`. */
function peerStoppedTls(core: HandleCore): boolean {
  const onStoptls = core.onStoptls;
  if (onStoptls === undefined || !core.open) return false;
  queueMicrotask(() => {
    if (!core.open) return;
    try {
      onStoptls(core.owner);
    } catch (e) {
      core.fatal(callbackError(e, "onStoptls"));
    }
  });
  return true;
}
