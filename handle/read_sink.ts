/**
 * Where a queued read's value goes: a {@linkcode ReadSink}. Each consumer style is one small
 * class (a callback, a promise, an iterator step), so the dispatch loop hands a value, an
 * error or the end of input to the sink without asking which style it serves.
 *
 * @module
 */
import type { HandleError } from "../base/errors.ts";

/** A callback of a typed read, as the queue calls it. */
export type QueuedCallback<H> = (h: H, ...values: unknown[]) => void;

/**
 * The consumer of one queued read.
 *
 * @typeParam H The handle callbacks receive.
 */
export interface ReadSink<H> {
  /**
   * Whether values reach the consumer later, through a promise (a promise read, an iterator
   * step): the consumer may then take the next frame only some microtasks after this one,
   * so a burst of buffered frames is still being handed out (see the read burst).
   */
  readonly async: boolean;
  /**
   * Hands over a decoded value. A callback sink may throw (the dispatcher makes it a fatal
   * `ECALLBACK`).
   *
   * @param h The handle.
   * @param value What the decoder gave (a tuple for a read type that spreads).
   * @param spread Whether `value` is a tuple of the callback's arguments.
   */
  deliver(h: H, value: unknown, spread: boolean): void;
  /**
   * Tells the consumer of an error. Returns whether it received it (a promise or iterator
   * step rejects): a callback read's error goes to `onError` instead.
   *
   * @param err The error.
   * @returns Whether the consumer took it.
   */
  fail(err: HandleError): boolean;
  /**
   * A clean end of input with nothing left for this read: an iterator ends its iteration
   * and returns `true`; any other read returns `false` (it is unsatisfied: `EPIPE`).
   *
   * @returns Whether the end was the consumer's to take.
   */
  end(): boolean;
}

/** A `pushRead` callback. */
export class CallbackSink<H> implements ReadSink<H> {
  readonly async = false;

  constructor(readonly callback: QueuedCallback<H>) {}

  deliver(h: H, value: unknown, spread: boolean): void {
    const cb = this.callback;
    if (!spread) return cb(h, value);
    const values = value as unknown[];
    if (values.length === 2) cb(h, values[0], values[1]);
    else cb(h, ...values);
  }

  /**
   * Hands over a pair without a tuple: the two values a spreading decoder gave through
   * `decodeFirst` and `lastSecond`.
   *
   * @param h The handle.
   * @param first The pair's first value.
   * @param second Its second value.
   */
  deliverPair(h: H, first: unknown, second: unknown): void {
    this.callback(h, first, second);
  }

  fail(): boolean {
    return false;
  }

  end(): boolean {
    return false;
  }
}

/** A read that acts by itself and has no consumer (AnyEvent's `tls_autostart => "accept"`). */
export const NO_CONSUMER: ReadSink<never> = {
  async: false,
  deliver() {},
  fail: () => false,
  end: () => false,
};

/** The settle functions of a promise read (`h.read()`), or of an iterator's step. */
export class PromiseSink<H> implements ReadSink<H> {
  readonly async = true;

  constructor(
    readonly resolve: (value: unknown) => void,
    readonly reject: (err: HandleError) => void,
  ) {}

  deliver(_h: H, value: unknown, spread: boolean): void {
    this.resolve(spread ? (value as unknown[])[0] : value);
  }

  fail(err: HandleError): boolean {
    this.reject(err);
    return true;
  }

  end(): boolean {
    return false;
  }
}
