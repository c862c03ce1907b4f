/**
 * {@linkcode TlsTransport}: TLS in either role over any byte transport, with `node:tls`
 * (Deno's own `Deno.startTls` is client-only and refuses a connection with a read in flight).
 *
 * @module
 */
import * as tls from "node:tls";
import { HandleError } from "../handle/errors.ts";
import type { Transport } from "../handle/transport.ts";
import { tlsError, type TlsMode, type TlsOptions } from "./options.ts";
import { RawDuplex } from "./raw_duplex.ts";
import { clientCertProblem } from "./client_cert.ts";

/** What a TLS session reports back to its handle. */
export interface TlsEvents {
  /**
   * The peer's close_notify arrived (not a bare end of input). Returns whether the
   * connection goes on in plaintext; if not, the session's end is end of input.
   */
  closeNotify(): boolean;
}

/** Where the plaintext reads of a session come from once TLS has ended. */
type After = "tls" | "eof" | "plain";

const IP_ADDRESS = /^[\d.]+$|:/;

const copy = (list: readonly string[] | undefined) => list === undefined ? undefined : [...list];

/**
 * TLS over a byte transport, as a {@linkcode Transport} of plaintext. `handshake` settles
 * when the handshake succeeds or fails; reads and writes wait for it. After
 * {@linkcode TlsTransport.stop} or the peer's close_notify (when the handle goes on in
 * plaintext), reads and writes pass straight to the transport underneath.
 */
export class TlsTransport implements Transport {
  /** Pauses reading from the network while this much plaintext waits to be read. */
  static readonly HIGH_WATER = 256 * 1024;
  readonly handshake: Promise<void>;
  readonly mode: TlsMode;
  readonly #raw: Transport;
  readonly #duplex: RawDuplex;
  readonly #socket: tls.TLSSocket;
  readonly #events: TlsEvents;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #after: After = "tls";
  #plain: Promise<{ leftover: Uint8Array[]; eof: boolean }> | undefined;
  /** Settles once this side's close_notify has been written. */
  #stopped: Promise<void> | undefined;
  #error: HandleError | undefined;
  #wake: (() => void) | undefined;
  #closed = false;

  /**
   * @param raw The transport carrying the ciphertext.
   * @param mode `"connect"` (client) or `"accept"` (server).
   * @param options Certificates, names, ALPN (merged with the defaults and checked by
   * `prepareTls`: `"accept"` has `cert` and `key`).
   * @param events Where the end of the session is reported.
   * @param readBarrier Settles once the read that was in flight on `raw` has been fed in.
   * @param writeBarrier Settles once the plaintext queued before TLS started has left.
   */
  constructor(
    raw: Transport,
    mode: TlsMode,
    options: TlsOptions,
    events: TlsEvents,
    readBarrier: Promise<unknown> = Promise.resolve(),
    writeBarrier: Promise<unknown> = Promise.resolve(),
  ) {
    this.mode = mode;
    this.#raw = raw;
    this.#events = events;
    this.#duplex = new RawDuplex(
      raw,
      { plaintextAfterStop: () => this.#sessionEnded(true) },
      readBarrier,
      writeBarrier,
    );
    this.#socket = mode === "accept" ? this.#accept(options) : this.#connect(options);
    const socket = this.#socket;
    this.handshake = new Promise<void>((resolve, reject) => {
      const endedEarly = () => {
        reject(
          new HandleError("EPROTO", "TLS handshake failed: end of input during the handshake"),
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
      socket.once("error", (e) => reject(tlsError(e, "handshake")));
      socket.once("end", endedEarly);
      socket.once("close", endedEarly);
    });
    this.handshake.catch(() => {});
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= TlsTransport.HIGH_WATER) socket.pause();
      this.#notify();
    });
    socket.on("end", () => this.#sessionEnded());
    socket.on("error", (e) => {
      this.#error ??= tlsError(e, "connection");
      this.#notify();
    });
  }

  #accept(options: TlsOptions): tls.TLSSocket {
    const requireCert = options.requireClientCert ?? false;
    return new tls.TLSSocket(this.#duplex as never, {
      isServer: true,
      cert: options.cert,
      key: options.key,
      ca: copy(options.caCerts),
      ALPNProtocols: copy(options.alpnProtocols),
      requestCert: requireCert,
      rejectUnauthorized: requireCert,
    });
  }

  #connect(options: TlsOptions): tls.TLSSocket {
    const hostname = options.hostname ?? options.peername ?? "localhost";
    return tls.connect({
      socket: this.#duplex as never,
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

  /**
   * The TLS session ended: by close_notify (the transport still open), by the peer going
   * back to plaintext after our close_notify, or by end of input.
   */
  #sessionEnded(peerStopped = false): void {
    this.#ended = true;
    if (this.#after === "tls") {
      const closeNotify = peerStopped || (!this.#duplex.rawEnded && !this.#closed);
      const wantsPlain = closeNotify && this.#events.closeNotify();
      if (wantsPlain || this.#stopped !== undefined) this.#goPlain();
      else this.#after = "eof";
    }
    this.#notify();
  }

  /** From now on, reads come from the transport itself, after what TLS left unread. */
  #goPlain(): void {
    this.#after = "plain";
    this.#duplex.keepRawOpen = true;
    this.#plain = this.#duplex.detach();
    // Answer the peer's close_notify, where the TLS layer does, before any plaintext.
    this.#stopped ??= new Promise<void>((resolve) => this.#socket.end(resolve));
  }

  /**
   * Ciphertext that was read from the transport before TLS took it over.
   *
   * @param bytes The bytes, or `null` for end of input.
   */
  feed(bytes: Uint8Array | null): void {
    this.#duplex.feed(bytes);
  }

  /**
   * Sends close_notify. Reads return TLS data until the peer's close_notify (or, from a peer
   * that does not answer one, the first bytes that are not a TLS record), then plaintext;
   * writes made afterwards go out in plaintext once the close_notify has left.
   */
  stop(): void {
    if (this.#stopped !== undefined || this.#closed) return;
    this.#duplex.keepRawOpen = true;
    this.#duplex.stopped();
    this.#stopped = this.handshake.then(
      () => new Promise<void>((resolve) => this.#socket.end(resolve)),
    );
    this.#stopped.catch(() => {});
  }

  /** Whether the session is over (stopped by either side) and the bytes are plaintext. */
  get plaintext(): boolean {
    return this.#stopped !== undefined;
  }

  /** The negotiated ALPN protocol, or `false`. */
  get alpnProtocol(): string | false {
    return this.#socket.alpnProtocol ?? false;
  }

  /** The TLS version negotiated, such as `"TLSv1.3"`, once connected. */
  get protocol(): string | null {
    return this.#socket.getProtocol?.() ?? null;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    await this.handshake;
    while (this.#chunks.length === 0) {
      if (this.#after === "plain") return await this.#readPlain(p);
      if (this.#error) throw this.#error;
      if (this.#closed || this.#after === "eof") return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const chunk = this.#chunks[0];
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    this.#buffered -= n;
    if (this.#buffered < TlsTransport.HIGH_WATER && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  async #readPlain(p: Uint8Array): Promise<number | null> {
    const plain = await this.#plain!;
    const first = plain.leftover[0];
    if (first === undefined) return plain.eof ? null : await this.#raw.read(p);
    const n = Math.min(p.length, first.length);
    p.set(first.subarray(0, n));
    if (n === first.length) plain.leftover.shift();
    else plain.leftover[0] = first.subarray(n);
    return n;
  }

  async write(p: Uint8Array): Promise<number> {
    await this.handshake;
    if (this.#stopped !== undefined) {
      await this.#stopped;
      return await this.#raw.write(p);
    }
    if (this.#error) throw this.#error;
    await new Promise<void>((resolve, reject) => {
      this.#socket.write(p, (e) => e ? reject(tlsError(e, "write")) : resolve());
    });
    return p.length;
  }

  async closeWrite(): Promise<void> {
    await this.handshake;
    if (this.#stopped !== undefined) {
      await this.#stopped;
      return await this.#raw.closeWrite();
    }
    await new Promise<void>((resolve) => this.#socket.end(resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#duplex.destroy();
    this.#raw.close();
    this.#notify();
  }

  setNoDelay(noDelay?: boolean): void {
    this.#raw.setNoDelay?.(noDelay);
  }

  setKeepAlive(keepAlive?: boolean): void {
    this.#raw.setKeepAlive?.(keepAlive);
  }
}
