/**
 * The options and callback types of a handle, generic in the handle its callbacks receive.
 *
 * @module
 */
import type { HandleError } from "../base/errors.ts";
import type { JsonCoder } from "../base/codec.ts";
import type { TlsMode, TlsOptions } from "../tls/options.ts";

/** A callback that receives only the handle `H`. */
export type HandleCallbackFor<H> = (h: H) => void;

/** A custom reader: inspects and consumes `h.rbuf`, returns `true` when it is done. */
export type CustomReaderFor<H> = (h: H) => boolean;

/**
 * The options of a handle whose callbacks receive `H` (`HandleOptions` is
 * `HandleOptionsFor<Handle>`). Every callback receives the handle first.
 */
export interface HandleOptionsFor<H> {
  /**
   * Called with every error. A fatal error destroys the handle right after this returns (so
   * `h.rbuf` can still be inspected here); after a non-fatal one (`err.fatal` false: a timeout,
   * a bad JSON text) the handle goes on.
   *
   * Without `onError`, as in AnyEvent::Handle without `on_error`, any error destroys the
   * handle, non-fatal ones too (a timeout without `onTimeout` closes the connection): the
   * error rejects `h.closed` and the pending promise reads and iterator steps, and, unless one
   * of those received it, is reported once on stderr. In `Handle.serve`, a handler that rejects
   * with such an error gets it reported then, once.
   */
  onError?: (h: H, err: HandleError) => void;
  /**
   * Called at a clean end of input: the peer closed its side and no queued read is left
   * unsatisfied. Without it, end of input is a fatal `EPIPE` error (as in AnyEvent::Handle),
   * unless an `iterate()` loop ended on it.
   *
   * Unlike AnyEvent::Handle, which notices end of input only while a read is queued, a
   * handle with `onEof` keeps one read in flight while less than `maxReadSize` bytes are
   * buffered, so a peer that closes an idle connection is reported. Bytes that arrive while
   * nothing is queued stay in `h.rbuf` until a reader takes them (reading pauses once
   * `maxReadSize` bytes wait).
   */
  onEof?: HandleCallbackFor<H>;
  /**
   * Called when data is buffered and the read queue is empty; consumes from `h.rbuf` itself.
   * While it is set the handle keeps reading.
   */
  onRead?: HandleCallbackFor<H>;
  /** Called when the unsent bytes fall to `lowWaterMark`, and at once if they already have. */
  onDrain?: HandleCallbackFor<H>;
  /**
   * The most bytes `h.rbuf` may hold after a read has been dispatched; more is a fatal
   * `ENOSPC`. Exactly `rbufMax` is fine.
   *
   * @default {Infinity}
   */
  rbufMax?: number;
  /**
   * The most unsent bytes (queued plus in flight) the write queue may hold; more is a fatal
   * `ENOSPC`, raised synchronously from `pushWrite`.
   *
   * @default {Infinity}
   */
  wbufMax?: number;
  /**
   * The default `maxLength` of every framing read type this handle makes (`line`, and the
   * other codecs that use `frameLimit`); a read's own `maxLength` option wins.
   *
   * @default {1048576}
   */
  maxFrameLength?: number;
  /**
   * The JSON coder of the `json` read and write types, for a reviver or a parser that keeps
   * big integers exact: `{ parse(text), stringify(value) }`. A read's own `{ parse }` option
   * wins over it. The framing scan is the same whatever the coder.
   *
   * @default {JSON}
   */
  json?: JsonCoder;
  /**
   * The first read's size in bytes; it doubles each time a read fills it. A read that may wait
   * long (nothing buffered, and the last read emptied the socket) is no larger than this when
   * it is given (16 KiB when not), so an idle handle holds no more for its pending read,
   * whatever a past burst grew reads to.
   *
   * @default {2048}
   */
  readSize?: number;
  /**
   * The largest read size (raised to `readSize` if smaller).
   *
   * @default {131072}
   */
  maxReadSize?: number;
  /**
   * How many unsent bytes count as drained for `onDrain`.
   *
   * @default {0}
   */
  lowWaterMark?: number;
  /**
   * How many unsent bytes `pushWrite` accepts before it returns `false` (write no more until
   * `onDrain` or `drain()`), as Node's `highWaterMark` for `socket.write()`. Advice only:
   * `wbufMax` is the hard limit.
   *
   * @default {65536}
   */
  highWaterMark?: number;
  /**
   * Inactivity timeout in seconds (fractions allowed) for any I/O: when neither a read nor a
   * write succeeded for that long, `onTimeout` is called, or without it a non-fatal
   * `ETIMEDOUT` error is reported to `onError`; then the timer re-arms for a full period.
   * With neither `onTimeout` nor `onError`, nobody would hear of it, so the handle is destroyed
   * (see `onError`): an idle connection is closed. 0 is off.
   * Handles made by `Handle.connect` start timing once connected.
   *
   * @default {0}
   */
  timeout?: number;
  /**
   * Like `timeout`, for reads only (a peer that sends nothing, or too slowly).
   *
   * @default {0}
   */
  rtimeout?: number;
  /**
   * Like `timeout`, for writes only (a peer that does not read).
   *
   * @default {0}
   */
  wtimeout?: number;
  /** Called when `timeout` expires (instead of an `ETIMEDOUT` error). */
  onTimeout?: HandleCallbackFor<H>;
  /** Called when `rtimeout` expires (instead of an `ETIMEDOUT` error). */
  onRtimeout?: HandleCallbackFor<H>;
  /** Called when `wtimeout` expires (instead of an `ETIMEDOUT` error). */
  onWtimeout?: HandleCallbackFor<H>;
  /**
   * When false, the writer starts as soon as the current synchronous code has run (everything
   * pushed in one synchronous block leaves in one write). When true, it waits for the next
   * macrotask, so writes pushed from several callbacks of one event-loop turn are coalesced too.
   *
   * @default {false}
   */
  autocork?: boolean;
  /**
   * Seconds that `destroy()` keeps sending what is still queued, in the background, before
   * closing (AnyEvent's `linger`): so `h.pushWrite("221 bye\r\n"); h.destroy()` delivers the
   * goodbye. No callback runs meanwhile, write errors end it silently, and `h.closed` settles
   * when the last byte has left or the time is up. `0` drops the bytes and closes at once.
   * AnyEvent's default is an hour; a minute is ample for a goodbye on a live connection and
   * keeps a peer that stopped reading from holding a socket for long.
   *
   * @default {60}
   */
  linger?: number;
  /**
   * Sets `TCP_NODELAY` (TCP only).
   *
   * @default {false}
   */
  noDelay?: boolean;
  /**
   * Sets `SO_KEEPALIVE` (TCP only).
   *
   * @default {false}
   */
  keepalive?: boolean;
  /**
   * Starts TLS on the first byte, in this role (`"connect"`: client, `"accept"`: server), as
   * `h.starttls(tls, tlsOptions)` right after construction. A handle over a `Deno.TlsConn`
   * needs no `tls`: the conn already speaks TLS.
   */
  tls?: TlsMode;
  /** TLS settings for `tls` and `starttls`, laid over `defaultTlsOptions`. */
  tlsOptions?: TlsOptions;
  /**
   * Called when a TLS handshake ends: `ok` is true on success; on failure `err` is the
   * error and the handle is destroyed right after this returns. Without it, a failed
   * handshake is a fatal error through `onError`. The error is an `EPROTO` (or, for a client
   * that left before sending anything, `EPIPE` or `ECONNRESET`) whose message reads
   * `TLS handshake failed: ` and the problem, such as
   * `TLS handshake failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first
   * certificate`: log it as it is.
   */
  onStarttls?: (h: H, ok: boolean, err?: HandleError) => void;
  /**
   * Called when the peer ends TLS with close_notify and the connection goes on in
   * plaintext. Without it, the peer's close_notify is end of input (as in AnyEvent::Handle),
   * unless this side called `stoptls()` first.
   */
  onStoptls?: HandleCallbackFor<H>;
}

/**
 * Checks a size option.
 *
 * @param name The option name, for the message.
 * @param value The value given.
 * @param fallback The default.
 * @param min The smallest value allowed.
 * @returns The value, or the default.
 * @throws {RangeError} If the value is not an integer >= `min` (or `Infinity`).
 */
export function checkSize(
  name: string,
  value: number | undefined,
  fallback: number,
  min = 0,
): number {
  if (value === undefined) return fallback;
  if (!(value >= min) || (!Number.isSafeInteger(value) && value !== Infinity)) {
    throw new RangeError(`Cannot use ${name} "${value}": expected an integer >= ${min}`);
  }
  return value;
}
