/**
 * The async iterator behind `Handle.iterate`.
 *
 * @module
 */
import { NEED_MORE } from "../codecs/decoder.ts";
import type { HandleError } from "./errors.ts";
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
export interface IteratorHooks {
  /** Makes the queue entry of one step. */
  request(): ReadRequest;
  /** Decodes at once if nothing is queued ahead; `NEED_MORE` otherwise. */
  tryNow(): unknown;
  /** Queues a step. */
  enqueue(request: ReadRequest): void;
  /** Removes a queued step. */
  remove(request: ReadRequest): void;
  /** The error to fail with if the handle is destroyed, else `undefined`. */
  error(): HandleError | undefined;
  /** Whether the decoded values are tuples whose first element is the value. */
  spread: boolean;
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ value: undefined, done: true });

/**
 * Makes the iterator of `Handle.iterate`: each `next()` decodes straight from the buffer when
 * nothing is queued ahead of it, and otherwise queues one read request.
 *
 * @param hooks Access to the handle's queue.
 * @returns The iterator.
 */
export function readIterator<T>(hooks: IteratorHooks): ReadIterator<T> {
  let finished = false;
  let pending: ReadRequest | undefined;
  let settlePending: ((result: IteratorResult<T, undefined>) => void) | undefined;

  const iterator: ReadIterator<T> = {
    next(): Promise<IteratorResult<T, undefined>> {
      if (finished) return Promise.resolve(DONE);
      if (pending !== undefined) {
        return Promise.reject(new TypeError("Cannot call next() while a step is pending"));
      }
      const err = hooks.error();
      if (err !== undefined) {
        finished = true;
        return Promise.reject(err);
      }
      const value = hooks.tryNow();
      if (value !== NEED_MORE) {
        return Promise.resolve({
          value: (hooks.spread ? (value as T[])[0] : value) as T,
          done: false,
        });
      }
      return new Promise((resolve, reject) => {
        const request = hooks.request();
        request.resolve = (value) => {
          pending = settlePending = undefined;
          resolve({ value: value as T, done: false });
        };
        request.reject = (e) => {
          pending = settlePending = undefined;
          if (e.fatal) finished = true;
          reject(e);
        };
        request.end = () => {
          pending = settlePending = undefined;
          finished = true;
          resolve(DONE);
        };
        pending = request;
        settlePending = resolve;
        try {
          hooks.enqueue(request);
        } catch (e) {
          pending = settlePending = undefined;
          finished = true;
          reject(e);
        }
      });
    },
    return(): Promise<IteratorResult<T, undefined>> {
      finished = true;
      if (pending !== undefined) {
        hooks.remove(pending);
        const settle = settlePending!;
        pending = settlePending = undefined;
        settle(DONE);
      }
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
