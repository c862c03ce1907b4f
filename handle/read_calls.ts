/**
 * The promise forms of reading, `h.read()` and `h.iterate()`: each checks its arguments, makes
 * the decoder and queues a read request whose sink is a promise or an iterator step.
 *
 * @module
 */
import { HandleError } from "../base/errors.ts";
import type { ReadType } from "../base/codec.ts";
import type { Decoder } from "../base/decoder.ts";
import type { HandleCore } from "./core.ts";
import { failedIterator, type ReadIterator, readIterator } from "./iterate.ts";
import { toReadType } from "./names.ts";
import { ReadRequest } from "./read_request.ts";
import { PromiseSink } from "./read_sink.ts";

/** Options of a single promise read or drain. */
export interface ReadOptions {
  /** Aborting it cancels the read (nothing consumed) with a non-fatal `ECANCELED`. */
  signal?: AbortSignal;
}

function isReadOptions(x: unknown): x is ReadOptions & { signal: AbortSignal } {
  return typeof x === "object" && x !== null && (x as ReadOptions).signal instanceof AbortSignal &&
    Object.keys(x).length === 1;
}

/** The read type and a decoder for its arguments; throws for a mistake in them. */
function typeAndDecoder<H>(
  core: HandleCore<H>,
  typeOrName: unknown,
  args: unknown[],
): { type: ReadType; decoder: Decoder<unknown> } {
  const type = toReadType(typeOrName);
  if (type === undefined) throw new TypeError("Cannot read: expected a read type or its name");
  return { type, decoder: core.reader.createDecoder(type, args) };
}

function cancelled(): HandleError {
  return new HandleError("ECANCELED", "The read was aborted", { fatal: false });
}

/**
 * `h.read(type, ...args)`: queues a read whose first value settles the promise.
 *
 * @param core The handle's internals.
 * @param typeOrName A read type or its name.
 * @param args The type's arguments, optionally followed by `{ signal }` (taken off `args`).
 * @returns The first value the type delivers; a mistake in the arguments rejects it.
 */
export function promiseRead<H>(
  core: HandleCore<H>,
  typeOrName: unknown,
  args: unknown[],
): Promise<unknown> {
  const last = args[args.length - 1];
  const signal = isReadOptions(last) ? (args.pop(), last.signal) : undefined;
  let made;
  try {
    made = typeAndDecoder(core, typeOrName, args);
  } catch (e) {
    return Promise.reject(e); // a promise API reports bad arguments by rejecting
  }
  const { type, decoder } = made;
  if (!core.open) return Promise.reject(core.afterDestroyError());
  if (signal?.aborted) return Promise.reject(cancelled());
  return new Promise((resolve, reject) => {
    const sink = signal === undefined ? new PromiseSink<H>(resolve, reject) : new PromiseSink<H>(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
    const request = new ReadRequest<H>(type, decoder, undefined, sink, true);
    const onAbort = () => {
      core.reader.remove(request);
      reject(cancelled());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    core.enqueue(request, false);
  });
}

/**
 * `h.iterate(type, ...args)`: an async iterator whose every step is one read request.
 *
 * @param core The handle's internals.
 * @param typeOrName A read type or its name.
 * @param args The type's arguments.
 * @returns The iterator; a mistake in the arguments rejects its first `next()`.
 */
export function iterateRead<H>(
  core: HandleCore<H>,
  typeOrName: unknown,
  args: unknown[],
): ReadIterator<unknown> {
  let made;
  try {
    made = typeAndDecoder(core, typeOrName, args);
  } catch (e) {
    return failedIterator(e); // as a step's own errors: the first next() rejects
  }
  const { type, decoder } = made;
  const reader = core.reader;
  return readIterator<unknown, H>({
    request: (sink) => new ReadRequest<H>(type, decoder, undefined, sink, true),
    take: (request) => reader.takeStep(request),
    remove: (request) => {
      core.reader.remove(request);
      core.reader.wantData(); // what waited behind the step (onRead, the end) goes on
    },
    error: () => core.open ? undefined : core.afterDestroyError(),
  });
}
