/**
 * {@linkcode TlsTransport}: TLS in either role as a transport layer over any byte transport,
 * with `node:tls` (Deno's own `Deno.startTls` is client-only and refuses a connection with a
 * read in flight). `node:tls` is loaded when the first session starts.
 *
 * @module
 */
import type { HandleError } from "../base/errors.ts";
import type { LayerContext, Transport, TransportLayer } from "../base/transport.ts";
import { tlsError, type TlsMode, type TlsOptions } from "./options.ts";
import type { RawDuplex, TLSSocket } from "./node_session.ts";

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

/**
 * TLS over the transport below, as a {@linkcode TransportLayer} of plaintext. `handshake`
 * settles when the handshake succeeds or fails; reads and writes wait for it. After
 * {@linkcode TlsTransport.stop}, writes pass straight to the transport below once the
 * close_notify has left; once both sides have ended TLS (when the handle goes on in
 * plaintext) the layer takes itself off the handle, handing back the plaintext it read.
 */
export class TlsTransport implements TransportLayer {
  /** Pauses reading from the network while this much plaintext waits to be read. */
  static readonly HIGH_WATER = 256 * 1024;
  readonly handshake: Promise<void>;
  readonly mode: TlsMode;
  readonly #ctx: LayerContext;
  readonly #raw: Transport;
  readonly #events: TlsEvents;
  /** Ciphertext fed before `node:tls` was loaded. */
  #early: (Uint8Array | null)[] = [];
  /** `node_session.ts`, once loaded and the session begun. */
  #session: typeof import("./node_session.ts") | undefined;
  #duplex: RawDuplex | undefined;
  #socket: TLSSocket | undefined;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #after: After = "tls";
  #plain: Promise<{ leftover: Uint8Array[]; eof: boolean }> | undefined;
  /** Settles once this side's close_notify has been written. */
  #stopped: Promise<void> | undefined;
  #error: HandleError | undefined;
  /** What reading the transport below threw, once node:tls has closed over it. */
  #rawError: unknown = undefined;
  #wake: (() => void) | undefined;
  #closed = false;
  #detached = false;

  /**
   * @param ctx The layer's context: the transport below and when it may be used.
   * @param mode `"connect"` (client) or `"accept"` (server).
   * @param options Certificates, names, ALPN (merged with the defaults and checked by
   * `prepareTls`: `"accept"` has `cert` and `key`).
   * @param events Where the end of the session is reported.
   */
  constructor(ctx: LayerContext, mode: TlsMode, options: TlsOptions, events: TlsEvents) {
    this.mode = mode;
    this.#ctx = ctx;
    this.#raw = ctx.below;
    this.#events = events;
    this.handshake = import("./node_session.ts").then((session) => {
      if (this.#closed) throw tlsError(new Error("the handle was destroyed"), "handshake");
      return this.#open(session, mode, options);
    });
    this.handshake.catch(() => {});
  }

  async #open(
    session: typeof import("./node_session.ts"),
    mode: TlsMode,
    options: TlsOptions,
  ): Promise<void> {
    this.#session = session;
    const duplex = this.#duplex = new session.RawDuplex(
      this.#raw,
      { plaintextAfterStop: () => this.#sessionEnded(true) },
      this.#ctx.readsBefore,
      this.#ctx.writesBefore,
    );
    for (const bytes of this.#early.splice(0)) duplex.feed(bytes);
    if (mode === "accept" && options.sni !== undefined) {
      options = await session.chooseCertificate(duplex, options);
      if (this.#closed) throw tlsError(new Error("the handle was destroyed"), "handshake");
    }
    const { socket, handshake } = session.openSession(duplex, mode, options);
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= TlsTransport.HIGH_WATER) socket.pause();
      this.#notify();
    });
    socket.on("end", () => this.#sessionEnded());
    socket.on("close", () => {
      // The transport failed under TLS (a reset): node:tls then closes without an error.
      this.#rawError ??= duplex.rawError;
      this.#notify();
    });
    socket.on("error", (e) => {
      this.#error ??= tlsError(e, "connection");
      this.#notify();
    });
    return handshake;
  }

  /**
   * The TLS session ended: by close_notify (the transport still open), by the peer going
   * back to plaintext after our close_notify, or by end of input.
   */
  #sessionEnded(peerStopped = false): void {
    if (this.#after === "tls") {
      const closeNotify = peerStopped || (!this.#duplex!.rawEnded && !this.#closed);
      const wantsPlain = closeNotify && this.#events.closeNotify();
      if (wantsPlain || this.#stopped !== undefined) this.#goPlain();
      else this.#after = "eof";
    }
    this.#notify();
  }

  /** From now on the connection is plaintext: take the layer off the handle. */
  #goPlain(): void {
    this.#after = "plain";
    this.#duplex!.keepRawOpen = true;
    this.#plain = this.#duplex!.detach();
    // Answer the peer's close_notify, where the TLS layer does, before any plaintext.
    this.#stopped ??= this.#end();
    this.#ctx.remove();
  }

  /**
   * Ciphertext that was read from the transport below before TLS took it over.
   *
   * @param bytes The bytes, or `null` for end of input.
   */
  feed(bytes: Uint8Array | null): void {
    if (this.#duplex === undefined) this.#early.push(bytes);
    else this.#duplex.feed(bytes);
  }

  /**
   * Hands back what the handle should read next, once TLS has ended in both directions: the
   * plaintext TLS delivered and nobody read, then the bytes that followed the session.
   *
   * @returns Those bytes, and whether end of input was seen below.
   */
  async detach(): Promise<{ rest: Uint8Array[]; eof: boolean }> {
    const plain = await this.#plain!;
    await this.#stopped;
    this.#detached = true;
    const rest = this.#chunks.splice(0);
    this.#buffered = 0;
    rest.push(...plain.leftover);
    this.#socket!.destroy();
    this.#notify();
    return { rest, eof: plain.eof };
  }

  /**
   * Sends close_notify. Reads return TLS data until the peer's close_notify (or, from a peer
   * that does not answer one, the first bytes that are not a TLS record), then plaintext;
   * writes made afterwards go out in plaintext once the close_notify has left.
   */
  stop(): void {
    if (this.#stopped !== undefined || this.#closed) return;
    this.#stopped = this.handshake.then(() => {
      this.#duplex!.keepRawOpen = true;
      this.#duplex!.stopped();
      return this.#end();
    });
    this.#stopped.catch(() => {});
  }

  /** Whether the session is over (stopped by either side) and the bytes are plaintext. */
  get plaintext(): boolean {
    return this.#stopped !== undefined;
  }

  /** The negotiated ALPN protocol, or `false`. */
  get alpnProtocol(): string | false {
    return this.#socket?.alpnProtocol ?? false;
  }

  /** The TLS version negotiated, such as `"TLSv1.3"`, once connected. */
  get protocol(): string | null {
    return this.#socket?.getProtocol?.() ?? null;
  }

  /**
   * Ends this side of the session (close_notify); settles once it has been written, or once the
   * socket is gone (destroyed: nothing more will be written, so nothing waits forever).
   */
  #end(): Promise<void> {
    const socket = this.#socket!;
    return new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      socket.once("close", () => resolve());
      socket.end(() => resolve());
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    await this.handshake;
    while (this.#chunks.length === 0) {
      if (this.#detached) return 0;
      if (this.#error) throw this.#error;
      if (this.#rawError !== undefined) throw this.#rawError;
      if (this.#closed || this.#after === "eof") return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const chunk = this.#chunks[0];
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    this.#buffered -= n;
    const socket = this.#socket!;
    if (this.#buffered < TlsTransport.HIGH_WATER && socket.isPaused()) socket.resume();
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
      this.#socket!.write(p, (e) => e ? reject(tlsError(e, "write")) : resolve());
    });
    return p.length;
  }

  async closeWrite(): Promise<void> {
    await this.handshake;
    if (this.#stopped !== undefined) {
      await this.#stopped;
      return await this.#raw.closeWrite();
    }
    await this.#end();
  }

  /** Ends the session at once (the handle closes the transport below itself). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#session?.closeSession(this.#socket, this.#duplex);
    this.#notify();
  }
}
