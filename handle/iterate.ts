/**
 * The async iterator behind `Handle.iterate`.
 *
 * @module
 */
import type { HandleError } from "../base/errors.ts";
import type { ReadRequest } from "./read_request.ts";

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
  request(): ReadRequest<H>;
  /** Queues a step; the handle dispatches at once what is buffered. */
  enqueue(request: ReadRequest<H>): void;
  /** Removes a queued step. */
  remove(request: ReadRequest<H>): void;
  /** The error to fail with if the handle is destroyed, else `undefined`. */
  error(): HandleError | undefined;
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ value: undefined, done: true });

/**
 * Makes the iterator of `Handle.iterate`: each `next()` queues the iterator's one read request,
 * so a step decodes exactly as `pushRead` and `read` do (one decode site, the same errors),
 * at once when the frame is buffered and nothing is queued ahead of it.
 *
 * @param hooks Access to the handle's queue.
 * @returns The iterator.
 */
export function readIterator<T, H>(hooks: IteratorHooks<H>): ReadIterator<T> {
  let finished = false;
  let queued = false;
  let settle: ((result: IteratorResult<T, undefined>) => void) | undefined;
  let fail: ((err: unknown) => void) | undefined;
  const step = hooks.request();
  const settled = () => {
    queued = false;
    const resolve = settle!;
    settle = fail = undefined;
    return resolve;
  };
  step.resolve = (value) => settled()({ value: value as T, done: false });
  step.reject = (e) => {
    queued = false;
    const reject = fail!;
    settle = fail = undefined;
    if (e.fatal) finished = true;
    reject(e);
  };
  step.end = () => {
    finished = true;
    settled()(DONE);
  };

  const iterator: ReadIterator<T> = {
    next(): Promise<IteratorResult<T, undefined>> {
      if (finished) return Promise.resolve(DONE);
      if (settle !== undefined) {
        return Promise.reject(new TypeError("Cannot call next() while a step is pending"));
      }
      const err = hooks.error();
      if (err !== undefined) {
        finished = true;
        return Promise.reject(err);
      }
      return new Promise((resolve, reject) => {
        settle = resolve;
        fail = reject;
        queued = true;
        try {
          hooks.enqueue(step);
        } catch (e) {
          finished = true;
          if (settle !== undefined) {
            queued = false;
            settle = fail = undefined;
            reject(e);
          }
        }
      });
    },
    return(): Promise<IteratorResult<T, undefined>> {
      finished = true;
      if (settle !== undefined) {
        if (queued) hooks.remove(step);
        settled()(DONE);
      }
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
