/**
 * {@linkcode NativeTls}: TLS that Deno runs itself (rustls under the socket), as the
 * handle's connection. The handle reads and writes plaintext through a `Deno.TlsConn`, so no
 * ciphertext crosses into JavaScript; the `node:tls` layer (`tls_layer.ts`) copies every
 * record in and out. A handle uses it where Deno has an API for the role and the options ask
 * nothing that only `node:tls` can do:
 * - the client role on a TCP connection with nothing in flight on it, at once or after a
 *   STARTTLS exchange: `Deno.startTls` (see {@linkcode nativeConnectOptions});
 * - `Handle.serve` with `tls: "accept"` and `nativeTls: true`: the conns of `Deno.listenTls`
 *   (see {@linkcode nativeAcceptOptions}).
 *
 * Deno 2.9 (its `rustls-tokio-stream`) keeps the socket of a session closed before its
 * handshake finished open until the peer sends something or leaves. A client's server
 * normally answers its ClientHello at once, so the client role uses it by default; a server
 * must be able to drop a client that connects and stays silent, so serving natively is
 * opt-in.
 *
 * What Deno's API cannot do keeps the layer: the server role on a conn that is already open,
 * a client certificate, `caCerts` (Deno adds them to its roots; the handle's option replaces
 * the roots), a session that may be stopped (`onStoptls`, `stoptls`), and bytes already read
 * or a read in flight (they are the start of the TLS stream, which rustls cannot be handed).
 *
 * @module
 */
import { HandleError } from "../base/errors.ts";
import type { Transport } from "../base/transport.ts";
import { sniEntry, tlsError, type TlsOptions } from "./options.ts";

/** What a native session tells its handle once, when the handshake settles. */
export type HandshakeReport = (err: HandleError | undefined) => void;

/**
 * A `Deno.TlsConn` as the handle's transport: reads and writes wait for the handshake, whose
 * result is reported first (so `onStarttls` runs before any plaintext is read, and a failed
 * handshake is an `EPROTO` rather than the read error behind it).
 */
export class NativeTls implements Transport {
  /** The ALPN protocol agreed, `false` for none (or before the handshake has finished). */
  alpnProtocol: string | false = false;
  /** The connection once the handshake succeeded. */
  #conn: Deno.TlsConn | undefined;
  /** The connection as soon as it exists (to close it). */
  #started: Deno.TlsConn | undefined;
  /** Settles with the handshake (after its report); reads and writes wait for it. */
  readonly #ready: Promise<void>;
  /** What the session was made from: closed too while the TLS conn does not exist yet. */
  readonly #under: Transport | undefined;
  readonly #addresses: () => Partial<Deno.Conn>;
  #report: HandshakeReport | undefined;
  #closed = false;

  /**
   * @param conn The TLS connection, or a promise of it (made once the bytes queued before
   * `starttls` have left).
   * @param addresses Where the addresses come from (the TCP conn under it).
   * @param under A transport to close instead while `conn` is pending (a handle connecting).
   */
  constructor(
    conn: Deno.TlsConn | Promise<Deno.TlsConn>,
    addresses: () => Partial<Deno.Conn>,
    under?: Transport,
  ) {
    this.#addresses = addresses;
    this.#under = under;
    this.#ready = this.#handshake(conn);
    this.#ready.catch(() => {});
  }

  async #handshake(pending: Deno.TlsConn | Promise<Deno.TlsConn>): Promise<void> {
    let err: HandleError;
    try {
      const conn = this.#started = await pending;
      if (this.#closed) {
        conn.close(); // destroyed while the bytes before starttls were leaving
        throw new HandleError("ECANCELED", "The handle was destroyed before the TLS handshake");
      }
      const info = await conn.handshake();
      this.alpnProtocol = info.alpnProtocol ?? false;
      this.#conn = conn;
      this.#report?.(undefined);
      return;
    } catch (e) {
      err = handshakeError(e);
    }
    this.#report?.(err);
    throw err;
  }

  /**
   * Says where the handshake's result goes (called once, before the handshake can settle).
   *
   * @param report Told `undefined` on success, else the error.
   */
  onHandshake(report: HandshakeReport): void {
    this.#report = report;
  }

  /**
   * Settles when the handshake has succeeded (and been reported); `Deno.TlsConn`'s name, so
   * the handle counts this connection as TLS.
   *
   * @returns The handshake's result.
   */
  async handshake(): Promise<Deno.TlsHandshakeInfo> {
    await this.#ready;
    return { alpnProtocol: this.alpnProtocol === false ? null : this.alpnProtocol };
  }

  read(p: Uint8Array): Promise<number | null> {
    const conn = this.#conn;
    if (conn !== undefined) return conn.read(p).catch(endOfInput);
    return this.#ready.then(() => this.#conn!.read(p)).catch(endOfInput);
  }

  write(p: Uint8Array): Promise<number> {
    const conn = this.#conn;
    if (conn !== undefined) return conn.write(p);
    return this.#ready.then(() => this.#conn!.write(p));
  }

  async closeWrite(): Promise<void> {
    await this.#ready;
    await this.#conn!.closeWrite();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#started !== undefined) this.#started.close();
      else this.#under?.close();
    } catch { /* closed already */ }
  }

  get remoteAddr(): Deno.Addr | undefined {
    return this.#addresses().remoteAddr;
  }

  get localAddr(): Deno.Addr | undefined {
    return this.#addresses().localAddr;
  }
}

/**
 * The error of a failed handshake: the peer leaving during it is `ECONNRESET` (a TCP client
 * that connects and closes, as a health check does), anything else an `EPROTO` naming the
 * problem.
 */
function handshakeError(e: unknown): HandleError {
  if (e instanceof HandleError) return e;
  if (peerLeft(e)) {
    const detail = e instanceof Error ? e.message : String(e);
    return new HandleError("ECONNRESET", `TLS handshake failed: the peer left (${detail})`, {
      cause: e,
    });
  }
  return tlsError(e, "handshake");
}

function peerLeft(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.UnexpectedEof ||
    e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionAborted;
}

/**
 * A read's failure: a peer that closes without close_notify is end of input, as it is through
 * the `node:tls` layer (and as most TLS servers end HTTP/1.0 and SMTP sessions).
 */
function endOfInput(e: unknown): null {
  if (e instanceof Deno.errors.UnexpectedEof) return null;
  throw e;
}

/**
 * `Deno.startTls` options for a client session, or `undefined` if the options ask for
 * something only the `node:tls` layer does: a client certificate (Deno's `startTls` takes
 * none) or `caCerts` (Deno adds them to its root store, where the option replaces it).
 *
 * @param options The merged TLS options.
 * @returns The options, or `undefined`.
 */
export function nativeConnectOptions(options: TlsOptions): Deno.StartTlsOptions | undefined {
  if (options.cert !== undefined || options.key !== undefined) return undefined;
  if (options.caCerts !== undefined && options.caCerts.length > 0) return undefined;
  return {
    hostname: options.hostname ?? options.peername ?? "localhost",
    alpnProtocols: options.alpnProtocols ? [...options.alpnProtocols] : undefined,
    unsafelyDisableHostnameVerification: options.unsafelyDisableHostnameVerification ?? false,
  };
}

/** What `Deno.listenTls` is given (besides the address) to serve sessions natively. */
export type NativeListenOptions = Deno.TlsCertifiedKeyPem & {
  alpnProtocols?: string[];
};

/**
 * Deno's hook for choosing a certificate by the name a client asks for (SNI): a function of
 * the name that returns `{ cert, key }`. `Deno.serve` uses it; `Deno.listenTls` takes it
 * under this symbol, undocumented, in every Deno 2 release.
 */
const SNI_RESOLVER = Symbol.for("unstableSniResolver");

/**
 * `Deno.listenTls` options for a server, or `undefined` if the options ask for something
 * only the `node:tls` layer does: a client certificate (`requireClientCert`), or an `sni`
 * table without a default certificate (the layer answers a name it does not know with the
 * `unrecognized_name` alert). An `sni` table becomes Deno's certificate resolver.
 *
 * @param options The merged TLS options.
 * @returns The options, or `undefined`.
 */
export function nativeAcceptOptions(options: TlsOptions): NativeListenOptions | undefined {
  const { cert, key, sni } = options;
  if (options.requireClientCert || !cert || !key) return undefined;
  const listen: NativeListenOptions = {
    cert,
    key,
    alpnProtocols: options.alpnProtocols ? [...options.alpnProtocols] : undefined,
  };
  if (sni !== undefined) {
    const resolve = (name: string) => {
      const entry = sniEntry(sni, name);
      return entry === undefined ? { cert, key } : { cert: entry.cert, key: entry.key };
    };
    Object.defineProperty(listen, SNI_RESOLVER, { value: resolve, enumerable: true });
  }
  return listen;
}
