/**
 * {@linkcode Layer}: what sits between a handle's queues and its connection, put there
 * mid-stream by `h.pushLayer`: TLS is one; a decompressor (IMAP's `COMPRESS=DEFLATE`) or a
 * layer that strips a header can be another.
 *
 * Bytes are pushed through a layer both ways, as through a Netty pipeline. The handle keeps
 * one read loop on the connection itself and hands each layer what arrives from below
 * (`inbound`); the layer passes what it makes of it up with `ctx.up`. The handle's writer hands
 * the top layer what the application writes (`outbound`); each layer passes what it makes of
 * it down with `ctx.down`. So a layer never reads or waits on the connection, and pushing or
 * removing one never has to redirect a read in flight.
 *
 * ```text
 *            h.rbuf (readers)          writer (pushWrite)
 *                 ^ up                      | outbound
 *             [ layer n-1 ]   ...   [ layer n-1 ]
 *                 ^ up                      | down -> outbound of the layer below
 *             [ layer 0 ]               [ layer 0 ]
 *                 ^ inbound                 | down
 *          the read loop  <--  connection  <-- the writes, in order
 * ```
 *
 * @module
 */
import type { HandleError } from "./errors.ts";

/**
 * A layer of a handle's byte stream, made by the `create` function given to `h.pushLayer`.
 *
 * When it is pushed, the bytes already in `h.rbuf` are its first `inbound` (they arrived
 * after whatever told the application to push it: STARTTLS's bytes go to TLS, never to a
 * reader), and the bytes queued for writing before then go out below it.
 */
export interface Layer {
  /**
   * Bytes that arrived from below, in order; the layer owns them. `null`: the input below
   * has ended (the layer says so above with `ctx.end()` when it is done).
   *
   * @param bytes The bytes, or `null`.
   */
  inbound(bytes: Uint8Array | null): void;
  /**
   * Bytes written from above, in order. The promise settles once the layer has passed what
   * it made of them down and the layer below accepted that: the writer then hands over the
   * next batch (that is the backpressure). `bytes` is only lent until then.
   *
   * @param bytes The bytes.
   * @returns Settles when the bytes have gone down; rejects if they cannot.
   */
  outbound(bytes: Uint8Array): Promise<void>;
  /**
   * The application half-closed (`pushShutdown`): end what goes down (`ctx.endDown()`),
   * after whatever the layer must send last.
   *
   * @returns Settles when done.
   */
  endOutbound(): Promise<void>;
  /**
   * The layer has been taken off (after `ctx.remove()`, once the writes queued before that
   * went through it): returns the bytes it received from below and did not use, in order.
   * They go up in its place, ahead of anything that arrives later.
   *
   * @returns The unused bytes.
   */
  removed(): Uint8Array[];
  /** The handle is closing: drop everything (no more calls come). */
  close(): void;
}

/** What a layer is given when it is pushed: where its bytes go, and how it ends. */
export interface LayerContext {
  /**
   * Passes bytes up: to the layer above, or to `h.rbuf` and the readers.
   *
   * @param bytes Bytes the receiver may keep.
   */
  up(bytes: Uint8Array): void;
  /** End of input above this layer: the layer above, or the readers, see the input end. */
  end(): void;
  /**
   * Passes bytes down: to the layer below, or to the connection, after everything passed down
   * before.
   *
   * @param bytes Bytes the receiver may keep until the promise settles.
   * @returns Settles once they have been accepted below.
   */
  down(bytes: Uint8Array): Promise<void>;
  /**
   * Ends the stream below (the connection's write half, TCP FIN), after what went down before.
   *
   * @returns Settles when done.
   */
  endDown(): Promise<void>;
  /**
   * Asks the read loop to keep reading while `on`, even when no reader wants data (a
   * handshake): by default the loop reads only while the application wants data.
   *
   * @param on Whether this layer needs input now.
   */
  wantInput(on: boolean): void;
  /**
   * Takes the layer off: the writes queued so far still go through it, later ones wait; then
   * `removed()` hands back what it did not use and the handle reads and writes the level
   * below again. Does nothing if the layer is not on top.
   */
  remove(): void;
  /**
   * Destroys the handle with `err` (its `closed` rejects with it). `reported`: the layer has
   * told the application itself, so `onError` is not called.
   *
   * @param err The error.
   * @param reported Whether to skip `onError`.
   */
  fail(err: HandleError, reported?: boolean): void;
  /** Whether the layer is still on the handle and the handle is open. */
  readonly active: boolean;
  /** Whether the handle is still open (the layer may have been removed). */
  readonly open: boolean;
}
