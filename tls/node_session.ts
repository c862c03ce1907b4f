/**
 * The `node:tls` side of a TLS layer: the socket in either role over a {@linkcode CipherDuplex}.
 * Loaded with a dynamic `import()` the first time a handle starts TLS, so that a program that
 * never does pays nothing for `node:tls` at start-up.
 *
 * @module
 */
import * as tls from "node:tls";
import { nextTick } from "node:process";
import { HandleError } from "../base/errors.ts";
import { clientCertProblem } from "./client_cert.ts";
import { clientHelloServerName } from "./client_hello.ts";
import { sniEntry, tlsError, type TlsMode, type TlsOptions } from "./options.ts";
import { CipherDuplex } from "./cipher_duplex.ts";
import { TLS_ALERT } from "./records.ts";

export { CipherDuplex };
export type { TLSSocket } from "node:tls";

const IP_ADDRESS = /^[\d.]+$|:/;

const copy = (list: readonly string[] | undefined) => list === undefined ? undefined : [...list];

/**
 * Opens a TLS socket over the ciphertext duplex.
 *
 * @param duplex The ciphertext side.
 * @param mode The role.
 * @param options Merged and checked options (`"accept"` has `cert` and `key`: for `sni`, see
 * {@linkcode chooseCertificate}).
 * @returns The socket, and a promise of the handshake (rejects with `EPROTO`).
 */
export function openSession(
  duplex: CipherDuplex,
  mode: TlsMode,
  options: TlsOptions,
): { socket: tls.TLSSocket; handshake: Promise<void> } {
  const socket = mode === "accept" ? accept(duplex, options) : connect(duplex, options);
  const handshake = new Promise<void>((resolve, reject) => {
    socket.once(mode === "accept" ? "secure" : "secureConnect", () => {
      const problem = mode === "accept" && options.requireClientCert
        ? clientCertProblem(socket, options.caCerts)
        : undefined;
      if (problem === undefined) return resolve();
      reject(new HandleError("EPROTO", `TLS handshake failed: ${problem}`));
      socket.destroy();
    });
    socket.once("error", (e) => reject(handshakeError(duplex, mode, e)));
    const endedEarly = () => reject(handshakeError(duplex, mode, null));
    socket.once("end", endedEarly);
    socket.once("close", endedEarly);
  });
  return { socket, handshake };
}

/**
 * Why a handshake failed: `cause` is what the TLS layer or the transport threw, or `null` for
 * an end of input. A client that leaves before sending a byte never spoke TLS: its
 * connection ended, TLS did not fail (a health check, a port scan; `Handle.serve` reports
 * neither `EPIPE` nor `ECONNRESET` then).
 */
function handshakeError(duplex: CipherDuplex, mode: TlsMode, cause: unknown): HandleError {
  const silentClient = mode === "accept" && duplex.received === 0;
  if (cause === null) {
    return silentClient
      ? new HandleError(
        "EPIPE",
        "TLS handshake failed: the client closed the connection before sending anything",
      )
      : new HandleError("EPROTO", "TLS handshake failed: end of input during the handshake");
  }
  if (!silentClient || !(cause instanceof Deno.errors.ConnectionReset)) {
    return tlsError(cause, "handshake");
  }
  return new HandleError(
    "ECONNRESET",
    "TLS handshake failed: the client reset the connection before sending anything",
    { cause },
  );
}

/**
 * SNI, for the accepting side: reads the ClientHello and picks the certificate for the name
 * it asks for, the listed one, else the top-level one. With neither, the client is told so
 * with an alert (`unrecognized_name` for a name, else `handshake_failure`) and no session is
 * made: a TLS library would only close the connection, which a client reports as an
 * unexpected end of input. Bytes that are not a ClientHello go to TLS, which reports them.
 *
 * Doing this before the session, rather than in `node:tls`'s `SNICallback`, is what keeps a
 * server from leaking: Deno's TLS socket with an `SNICallback` holds itself (and so the
 * duplex, the handle and everything they reach) forever when it is destroyed before the
 * ClientHello is complete, which is what a health check's connection does.
 *
 * @param duplex The ciphertext side, before TLS has read from it.
 * @param options Merged and checked options with `sni`.
 * @returns The options with the chosen `cert` and `key`.
 * @throws {HandleError} `EPROTO` after the alert; `EPIPE`, `ECONNRESET` or `EPROTO` when the
 * client leaves or fails first (as {@linkcode handshakeError}).
 */
export async function chooseCertificate(
  duplex: CipherDuplex,
  options: TlsOptions,
): Promise<TlsOptions> {
  let name: string | null | undefined;
  try {
    name = await duplex.lookAhead(clientHelloServerName);
  } catch (e) {
    throw handshakeError(duplex, "accept", e);
  }
  if (name === null) throw handshakeError(duplex, "accept", null);
  const fallback = options.cert && options.key
    ? { cert: options.cert, key: options.key }
    : undefined;
  // Not a ClientHello: any certificate will do for TLS to say what is wrong.
  const entry = name === undefined
    ? fallback ?? Object.values(options.sni!)[0]
    : sniEntry(options.sni!, name) ?? fallback;
  if (entry !== undefined) return { ...options, cert: entry.cert, key: entry.key };
  await duplex.alert(name ? TLS_ALERT.unrecognizedName : TLS_ALERT.handshakeFailure);
  throw new HandleError(
    "EPROTO",
    name
      ? `TLS handshake failed: no certificate for server name "${name}" and no default ` +
        "(tlsOptions.cert); sent the alert unrecognized_name"
      : "TLS handshake failed: the client asked for no server name and there is no " +
        "default certificate (tlsOptions.cert); sent the alert handshake_failure",
  );
}

/**
 * Ends a session at once: destroys the socket and the duplex, on the next tick. A server
 * socket starts on the tick after it was made, and Deno's TLS socket destroyed before it
 * started is never freed (its native half keeps a strong reference to it, and so to the
 * duplex and all they reach); ticks run in order, so this one comes after the start.
 *
 * @param socket The TLS socket, if made.
 * @param duplex The ciphertext side, if made.
 */
export function closeSession(
  socket: tls.TLSSocket | undefined,
  duplex: CipherDuplex | undefined,
): void {
  nextTick(() => {
    socket?.destroy();
    duplex?.destroy();
  });
}

function accept(duplex: CipherDuplex, options: TlsOptions): tls.TLSSocket {
  const requireCert = options.requireClientCert ?? false;
  return new tls.TLSSocket(duplex as never, {
    isServer: true,
    cert: options.cert,
    key: options.key,
    ca: copy(options.caCerts),
    ALPNProtocols: copy(options.alpnProtocols),
    requestCert: requireCert,
    rejectUnauthorized: requireCert,
  });
}

function connect(duplex: CipherDuplex, options: TlsOptions): tls.TLSSocket {
  const hostname = options.hostname ?? options.peername ?? "localhost";
  return tls.connect({
    socket: duplex as never,
    ca: copy(options.caCerts),
    cert: options.cert,
    key: options.key,
    ALPNProtocols: copy(options.alpnProtocols),
    servername: IP_ADDRESS.test(hostname) ? undefined : hostname,
    rejectUnauthorized: true,
    checkServerIdentity: options.unsafelyDisableHostnameVerification
      ? () => undefined
      : (_name, cert) => tls.checkServerIdentity(hostname, cert),
  });
}
