/**
 * {@linkcode TlsLayer}: TLS in either role as a {@linkcode Layer} of a handle, with
 * `node:tls` over a {@linkcode CipherDuplex}: ciphertext pushed in from below goes to the
 * session, plaintext it gives goes up at once; plaintext written from above goes to the
 * session, ciphertext it gives goes down. `node:tls` is loaded when the first session starts.
 *
 * @module
 */
import type { Layer, LayerContext } from "../base/layer.ts";
import { tlsError, type TlsMode, type TlsOptions } from "./options.ts";
import type { CipherDuplex, TLSSocket } from "./node_session.ts";

/** What a TLS session reports back to its handle. */
export interface TlsEvents {
  /**
   * The peer's close_notify arrived (not a bare end of input). Returns whether the
   * connection goes on in plaintext; if not, the session's end is end of input.
   */
  closeNotify(): boolean;
}

const destroyed = () => tlsError(new Error("the handle was destroyed"), "handshake");

/**
 * TLS between the handle and the level below. `handshake` settles when the handshake
 * succeeds or fails; writes wait for it. After {@linkcode TlsLayer.stop} (or the peer's
 * close_notify, with `onStoptls`), what is written goes down in plaintext once this side's
 * close_notify has gone, and once both sides have ended TLS the layer takes itself off,
 * handing back the plaintext that followed the session.
 */
export class TlsLayer implements Layer {
  readonly handshake: Promise<void>;
  readonly mode: TlsMode;
  readonly #ctx: LayerContext;
  readonly #events: TlsEvents;
  /** `node_session.ts`, once loaded. */
  #session: typeof import("./node_session.ts") | undefined;
  /** Ciphertext that arrived before `node:tls` was loaded. */
  #early: (Uint8Array | null)[] | undefined = [];
  #duplex: CipherDuplex | undefined;
  #socket: TLSSocket | undefined;
  /** Where the session stands once it is over: still TLS, ended, or plaintext from now on. */
  #after: "tls" | "eof" | "plain" = "tls";
  /** Settles once this side's close_notify has gone down. */
  #stopped: Promise<void> | undefined;
  #closed = false;
  /**
   * Plaintext that arrived with the end of the handshake, held until the handshake has been
   * reported (`onStarttls` runs before the first byte over TLS reaches a reader).
   */
  #held: Uint8Array[] | undefined = [];

  /**
   * @param ctx The layer's context.
   * @param mode `"connect"` (client) or `"accept"` (server).
   * @param options Certificates, names, ALPN (merged and checked by `prepareTls`).
   * @param events Where the end of the session is reported.
   */
  constructor(ctx: LayerContext, mode: TlsMode, options: TlsOptions, events: TlsEvents) {
    this.mode = mode;
    this.#ctx = ctx;
    this.#events = events;
    // The session reads whether or not a reader waits: the handshake, and later the peer's
    // close_notify (onStoptls) or an alert, are noticed at once (up to maxReadSize of
    // plaintext may wait in h.rbuf).
    ctx.wantInput(true);
    this.handshake = import("./node_session.ts").then((session) => {
      if (this.#closed) throw destroyed();
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
    const ctx = this.#ctx;
    const duplex = this.#duplex = new session.CipherDuplex(ctx, {
      plaintextAfterStop: () => this.#sessionEnded(true),
    });
    const early = this.#early!;
    this.#early = undefined;
    if (mode === "accept" && options.sni !== undefined) {
      const chosen = session.chooseCertificate(duplex, options);
      for (const bytes of early) duplex.feed(bytes);
      options = await chosen;
      if (this.#closed) throw destroyed();
      duplex.judged();
    } else for (const bytes of early) duplex.feed(bytes);
    const { socket, handshake } = session.openSession(duplex, mode, options);
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      if (this.#after === "plain" || !ctx.active) return;
      if (this.#held === undefined) ctx.up(chunk);
      else this.#held.push(chunk);
    });
    socket.on("end", () => this.#sessionEnded());
    // Until the handshake has settled, its promise reports the failure (onStarttls).
    let secure = false;
    socket.on("error", (e) => {
      if (secure && ctx.active) ctx.fail(tlsError(e, "connection"));
    });
    return handshake.then(() => void (secure = true));
  }

  /**
   * The TLS session ended: by close_notify (the connection still open), by the peer going
   * back to plaintext after our close_notify, or by end of input.
   */
  #sessionEnded(peerStopped = false): void {
    if (this.#after !== "tls") return;
    const closeNotify = peerStopped || (!this.#duplex!.rawEnded && !this.#closed);
    const wantsPlain = closeNotify && this.#events.closeNotify();
    if (wantsPlain || this.#stopped !== undefined) return this.#goPlain();
    this.#after = "eof";
    this.#ctx.wantInput(false);
    if (this.#held === undefined) this.#ctx.end();
  }

  /** From now on the connection is plaintext: take the layer off the handle. */
  #goPlain(): void {
    this.#after = "plain";
    this.#ctx.wantInput(false);
    const duplex = this.#duplex!;
    duplex.keepRawOpen = true;
    duplex.detach();
    // Answer the peer's close_notify, where the TLS layer does, before any plaintext.
    this.#stopped ??= this.#end();
    this.#stopped.then(() => this.#ctx.remove());
  }

  /** The handshake has been reported: plaintext goes up from now on. */
  release(): void {
    const held = this.#held;
    this.#held = undefined;
    if (held === undefined || !this.#ctx.active) return;
    for (const chunk of held) this.#ctx.up(chunk);
    if (this.#after === "eof") this.#ctx.end();
  }

  inbound(bytes: Uint8Array | null): void {
    if (this.#early !== undefined) this.#early.push(bytes);
    else this.#duplex!.feed(bytes);
  }

  async outbound(bytes: Uint8Array): Promise<void> {
    await this.handshake;
    if (this.#stopped !== undefined) {
      await this.#stopped;
      return await this.#ctx.down(bytes);
    }
    await new Promise<void>((resolve, reject) => {
      this.#socket!.write(bytes, (e) => e ? reject(tlsError(e, "write")) : resolve());
    });
  }

  async endOutbound(): Promise<void> {
    await this.handshake;
    if (this.#stopped !== undefined) {
      await this.#stopped;
      return await this.#ctx.endDown();
    }
    await this.#end();
  }

  removed(): Uint8Array[] {
    const rest = this.#duplex?.leftover() ?? [];
    this.#session?.closeSession(this.#socket, this.#duplex);
    return rest;
  }

  /**
   * Sends close_notify. Reads give TLS data until the peer's close_notify (or, from a peer
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
   * Ends this side of the session (close_notify); settles once it has gone down, or once the
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

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#duplex?.detach(); // no more feeding: ends a hold on bytes that are no record
    this.#session?.closeSession(this.#socket, this.#duplex);
  }
}
