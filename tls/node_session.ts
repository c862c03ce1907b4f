/**
 * The `node:tls` side of a TLS layer: the socket in either role over a {@linkcode RawDuplex}.
 * Loaded with a dynamic `import()` the first time a handle starts TLS, so that a program that
 * never does pays nothing for `node:tls` at start-up.
 *
 * @module
 */
import * as tls from "node:tls";
import { HandleError } from "../base/errors.ts";
import { clientCertProblem } from "./client_cert.ts";
import {
  type SniCertificate,
  sniEntry,
  tlsError,
  type TlsMode,
  type TlsOptions,
} from "./options.ts";
import { RawDuplex } from "./raw_duplex.ts";
import { TLS_ALERT } from "./records.ts";

export { RawDuplex };
export type { TLSSocket } from "node:tls";

const IP_ADDRESS = /^[\d.]+$|:/;

const copy = (list: readonly string[] | undefined) => list === undefined ? undefined : [...list];

/**
 * Opens a TLS socket over the ciphertext duplex.
 *
 * @param duplex The ciphertext side.
 * @param mode The role.
 * @param options Merged and checked options (`"accept"` has `cert` and `key`).
 * @returns The socket, and a promise of the handshake (rejects with `EPROTO`).
 */
export function openSession(
  duplex: RawDuplex,
  mode: TlsMode,
  options: TlsOptions,
): { socket: tls.TLSSocket; handshake: Promise<void> } {
  const socket = mode === "accept" ? accept(duplex, options) : connect(duplex, options);
  const handshake = new Promise<void>((resolve, reject) => {
    // A client that leaves before sending a byte never spoke TLS: its connection ended, TLS
    // did not fail (a health check, a port scan; `Handle.serve` reports neither).
    const silentClient = () => mode === "accept" && duplex.received === 0;
    const endedEarly = () => {
      reject(
        silentClient()
          ? new HandleError(
            "EPIPE",
            "TLS handshake failed: the client closed the connection before sending anything",
          )
          : new HandleError("EPROTO", "TLS handshake failed: end of input during the handshake"),
      );
    };
    socket.once(mode === "accept" ? "secure" : "secureConnect", () => {
      const problem = mode === "accept" && options.requireClientCert
        ? clientCertProblem(socket, options.caCerts)
        : undefined;
      if (problem === undefined) return resolve();
      reject(new HandleError("EPROTO", `TLS handshake failed: ${problem}`));
      socket.destroy();
    });
    socket.once("error", (e) => {
      if (!silentClient() || !(e instanceof Deno.errors.ConnectionReset)) {
        return reject(tlsError(e, "handshake"));
      }
      reject(
        new HandleError(
          "ECONNRESET",
          "TLS handshake failed: the client reset the connection before sending anything",
          { cause: e },
        ),
      );
    });
    socket.once("end", endedEarly);
    socket.once("close", endedEarly);
  });
  return { socket, handshake };
}

/** One secure context per certificate entry, made on first use. */
const contexts = new WeakMap<object, tls.SecureContext>();

function contextOf(entry: SniCertificate, options: TlsOptions): tls.SecureContext {
  let context = contexts.get(entry);
  if (context === undefined) {
    context = tls.createSecureContext({
      cert: entry.cert,
      key: entry.key,
      ca: copy(options.caCerts),
    });
    contexts.set(entry, context);
  }
  return context;
}

/**
 * The SNI callback: the listed certificate for the name, else the top-level one. With
 * neither, the client is told so with an alert (`unrecognized_name` for a name, else
 * `handshake_failure`) before the session ends: `node:tls` would only close the connection,
 * which a client reports as an unexpected end of input.
 */
function sniCallback(options: TlsOptions, duplex: RawDuplex) {
  const sni = options.sni!;
  const fallback = options.cert && options.key
    ? { cert: options.cert, key: options.key }
    : undefined;
  return (name: string, done: (err: Error | null, context?: tls.SecureContext) => void) => {
    // Deno's node:tls calls this with "" when the client sends no name.
    const entry = sniEntry(sni, name ?? "") ?? fallback;
    if (entry === undefined) {
      const err = new HandleError(
        "EPROTO",
        name
          ? `TLS handshake failed: no certificate for server name "${name}" and no default ` +
            "(tlsOptions.cert); sent the alert unrecognized_name"
          : "TLS handshake failed: the client asked for no server name and there is no " +
            "default certificate (tlsOptions.cert); sent the alert handshake_failure",
      );
      const alert = name ? TLS_ALERT.unrecognizedName : TLS_ALERT.handshakeFailure;
      return void duplex.alert(alert).then(() => done(err));
    }
    try {
      done(null, contextOf(entry, options));
    } catch (e) {
      done(e as Error);
    }
  };
}

function accept(duplex: RawDuplex, options: TlsOptions): tls.TLSSocket {
  const requireCert = options.requireClientCert ?? false;
  return new tls.TLSSocket(duplex as never, {
    isServer: true,
    SNICallback: options.sni === undefined ? undefined : sniCallback(options, duplex),
    cert: options.cert,
    key: options.key,
    ca: copy(options.caCerts),
    ALPNProtocols: copy(options.alpnProtocols),
    requestCert: requireCert,
    rejectUnauthorized: requireCert,
  });
}

function connect(duplex: RawDuplex, options: TlsOptions): tls.TLSSocket {
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
