/**
 * The async iterator behind `Handle.iterate`.
 *
 * @module
 */
import type { HandleError } from "../base/errors.ts";
import type { ReadRequest } from "./read_request.ts";
import { StepSink } from "./read_sink.ts";

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
  request(sink: StepSink<H>): ReadRequest<H>;
  /**
   * Queues a step from inside `next()`: when its frame is buffered it is delivered before
   * this returns (the handle's one dispatch loop decodes it), else when it arrives.
   */
  take(request: ReadRequest<H>): void;
  /** Removes a queued step. */
  remove(request: ReadRequest<H>): void;
  /** The error to fail with if the handle is destroyed, else `undefined`. */
  error(): HandleError | undefined;
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ value: undefined, done: true });

/**
 * Makes the iterator of `Handle.iterate`: each `next()` takes one step of the iterator's one
 * read request, which decodes exactly as `pushRead` and `read` do (one decode site, the same
 * errors), at once when the frame is buffered and nothing is queued ahead of it.
 *
 * @param hooks Access to the handle's queue.
 * @returns The iterator.
 */
export function readIterator<T, H>(hooks: IteratorHooks<H>): ReadIterator<T> {
  let finished = false;
  let queued = false;
  /** While `next()` queues the step: a step settled at once leaves its result here. */
  let queueing = false;
  let early: Promise<IteratorResult<T, undefined>> | undefined;
  let settle: ((result: IteratorResult<T, undefined>) => void) | undefined;
  let fail: ((err: unknown) => void) | undefined;
  const finish = (result: IteratorResult<T, undefined> | undefined, err?: unknown) => {
    queued = false;
    if (queueing) {
      early = result === undefined ? Promise.reject(err) : Promise.resolve(result);
      return;
    }
    const resolve = settle!;
    const reject = fail!;
    settle = fail = undefined;
    if (result === undefined) reject(err);
    else resolve(result);
  };
  const step = hooks.request(
    new StepSink<H>(
      (value) => finish({ value: value as T, done: false }),
      (e) => {
        if (e.fatal) finished = true;
        finish(undefined, e);
      },
      () => {
        finished = true;
        finish(DONE);
      },
    ),
  );

  const iterator: ReadIterator<T> = {
    next(): Promise<IteratorResult<T, undefined>> {
      if (finished) return Promise.resolve(DONE);
      if (queued) {
        return Promise.reject(new TypeError("Cannot call next() while a step is pending"));
      }
      const err = hooks.error();
      if (err !== undefined) {
        finished = true;
        return Promise.reject(err);
      }
      // The step goes through the handle's one dispatch loop like any read.
      queued = queueing = true;
      try {
        hooks.take(step);
      } catch (e) {
        finished = true;
        queued = false;
        early = Promise.reject(e);
      } finally {
        queueing = false;
      }
      if (early !== undefined) {
        const result = early;
        early = undefined;
        return result;
      }
      return new Promise((resolve, reject) => {
        settle = resolve;
        fail = reject;
      });
    },
    return(): Promise<IteratorResult<T, undefined>> {
      finished = true;
      if (queued) {
        hooks.remove(step);
        finish(DONE);
      }
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
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
