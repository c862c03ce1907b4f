/**
 * The async iterator behind `Handle.iterate`.
 *
 * @module
 */
import type { HandleError } from "../base/errors.ts";
import type { ReadRequest } from "./read_request.ts";
import type { ReadSink } from "./read_sink.ts";
import { NEED_MORE } from "../base/decoder.ts";

/** An async iterator of decoded values; `return()` (what `break` calls) leaves unread bytes. */
export interface ReadIterator<T> extends AsyncIterator<T, undefined> {
  /** Gives the next value, or ends at a clean end of input. */
  next(): Promise<IteratorResult<T, undefined>>;
  /** Stops the iteration; a step still queued is removed without consuming anything. */
  return(): Promise<IteratorResult<T, undefined>>;
  /** The iterator itself, so it can be used in `for await`. */
  [Symbol.asyncIterator](): ReadIterator<T>;
}

/** What the iterator needs from its handle. */
export interface IteratorHooks<H> {
  /** Makes the queue entry the iterator's steps share (one step is queued at a time). */
  request(sink: ReadSink<H>): ReadRequest<H>;
  /**
   * Queues a step from inside `next()`: returns its value when its frame is buffered and
   * nothing is ahead (decoded by the handle's one decode step), else `NEED_MORE`, and the
   * step's sink (the iterator) gets the outcome later; `STEP_CLOSED` (nothing queued) once
   * the handle is destroyed.
   */
  take(request: ReadRequest<H>): unknown;
  /** Removes a queued step. */
  remove(request: ReadRequest<H>): void;
  /** The error to fail with if the handle is destroyed, else `undefined`. */
  error(): HandleError | undefined;
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ value: undefined, done: true });

/** What `IteratorHooks.take` returns when the handle is destroyed: nothing was queued. */
export const STEP_CLOSED: unique symbol = Symbol("STEP_CLOSED");

/**
 * Makes the iterator of `Handle.iterate`: each `next()` takes one step of the iterator's one
 * read request, which decodes exactly as `pushRead` and `read` do (one decode site, the same
 * errors), at once when the frame is buffered and nothing is queued ahead of it.
 *
 * @param hooks Access to the handle's queue.
 * @returns The iterator.
 */
export function readIterator<T, H>(hooks: IteratorHooks<H>): ReadIterator<T> {
  return new StepIterator<T, H>(hooks);
}

/**
 * The iterator is the sink of its own steps: a step delivered inside `next()` (its frame was
 * buffered) leaves its result for `next()` to return already settled; one delivered later
 * settles the promise `next()` returned.
 */
class StepIterator<T, H> implements ReadIterator<T>, ReadSink<H> {
  readonly async = true;
  readonly #hooks: IteratorHooks<H>;
  readonly #step: ReadRequest<H>;
  #finished = false;
  /** A step is queued and not yet settled. */
  #queued = false;
  /** Set while `next()` queues the step: a step settled at once leaves its result here. */
  #queueing = false;
  #early: IteratorResult<T, undefined> | undefined = undefined;
  #earlyError: unknown = undefined;
  #settle: ((result: IteratorResult<T, undefined>) => void) | undefined = undefined;
  #fail: ((err: unknown) => void) | undefined = undefined;

  constructor(hooks: IteratorHooks<H>) {
    this.#hooks = hooks;
    this.#step = hooks.request(this);
  }

  deliver(_h: H, value: unknown, spread: boolean): void {
    this.#result({ value: (spread ? (value as unknown[])[0] : value) as T, done: false });
  }

  fail(err: HandleError): boolean {
    if (err.fatal) this.#finished = true;
    this.#queued = false;
    if (this.#queueing) this.#earlyError = err;
    else {
      const fail = this.#fail!;
      this.#settle = this.#fail = undefined;
      fail(err);
    }
    return true;
  }

  end(): boolean {
    this.#finished = true;
    this.#result(DONE);
    return true;
  }

  #result(result: IteratorResult<T, undefined>): void {
    this.#queued = false;
    if (this.#queueing) {
      this.#early = result;
      return;
    }
    const settle = this.#settle!;
    this.#settle = this.#fail = undefined;
    settle(result);
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#finished) return Promise.resolve(DONE);
    if (this.#queued) {
      return Promise.reject(new TypeError("Cannot call next() while a step is pending"));
    }
    // The step goes through the handle's one dispatch loop like any read.
    this.#queued = this.#queueing = true;
    try {
      const value = this.#hooks.take(this.#step);
      if (value !== NEED_MORE) {
        this.#queued = false;
        if (value !== STEP_CLOSED) return Promise.resolve({ value: value as T, done: false });
        this.#finished = true;
        return Promise.reject(this.#hooks.error());
      }
    } catch (e) {
      this.#finished = true;
      this.#queued = false;
      this.#earlyError = e;
    } finally {
      this.#queueing = false;
    }
    const early = this.#early;
    if (early !== undefined) {
      this.#early = undefined;
      return Promise.resolve(early);
    }
    if (this.#earlyError !== undefined) {
      const e = this.#earlyError;
      this.#earlyError = undefined;
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.#settle = resolve;
      this.#fail = reject;
    });
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.#finished = true;
    if (this.#queued) {
      this.#hooks.remove(this.#step);
      this.#result(DONE);
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): ReadIterator<T> {
    return this;
  }
}

/**
 * An iterator that fails: its first `next()` rejects with `err` (the arguments of `iterate`
 * were wrong), and it is done after that.
 *
 * @param err What the first step rejects with.
 * @returns The iterator.
 */
export function failedIterator<T>(err: unknown): ReadIterator<T> {
  let failed = false;
  const iterator: ReadIterator<T> = {
    next(): Promise<IteratorResult<T, undefined>> {
      if (failed) return Promise.resolve(DONE);
      failed = true;
      return Promise.reject(err);
    },
    return(): Promise<IteratorResult<T, undefined>> {
      failed = true;
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
