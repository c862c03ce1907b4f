/**
 * {@linkcode HandleReading}: the reading half of a handle's API, documented here; `Handle`
 * (`handle.ts`) implements it over its read side (`reader.ts`, `read_calls.ts`).
 *
 * @module
 */
import type { ReadIterator } from "./iterate.ts";
import type { CustomReaderFor } from "./options.ts";
import type { ReadOptions } from "./read_calls.ts";
import type {
  IterateArgs,
  PushReadArgs,
  ReadCallArgs,
  ReadResultOf,
  ReadTypeArg,
} from "./typed.ts";

/**
 * How a handle reads: an ordered queue of read requests (`pushRead`, `unshiftRead`, `read`,
 * `iterate`) over one buffer, `h.rbuf`, with `stopRead`/`startRead` to pause and resume.
 * `Handle` implements it; the callbacks receive the handle `H`.
 *
 * @typeParam H The handle, passed first to every callback.
 *
 * @example Three forms of reading on one queue
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
 * const h = Handle.fromStreams(readable, writable); // reads back what it writes
 * h.pushWrite("a\nb\nc\n");
 * h.pushShutdown();
 * const first = new Promise((resolve) => h.pushRead("line", (_h, line) => resolve(line)));
 * const second = h.read("line");
 * const rest: string[] = [];
 * for await (const line of h.iterate("line")) rest.push(line);
 * assert.deepEqual([await first, await second, rest], ["a", "b", ["c"]]);
 * h.destroy();
 * ```
 */
export interface HandleReading<H> {
  /**
   * Queues a read at the end of the read queue: a custom reader, or a registered read type
   * with its arguments and a callback.
   *
   * A custom reader is called with the handle whenever it is at the head of the queue and
   * there may be progress (also at once, and at end of input); it consumes from `h.rbuf` and
   * returns `true` when it is done. A typed read calls its callback once with what its type
   * delivers. Reads that can be satisfied from `h.rbuf` complete before this returns.
   *
   * @param type A custom reader, or a read type (`line`, `chunk`, ...; `chunk(4)` with its
   * arguments bound) or its AnyEvent name (`"line"`).
   * @param args The type's arguments, then `(h, ...values) => void` (for a type that acts by
   * itself, such as `tlsAutostart`, its arguments alone); none after a custom reader.
   * @throws {TypeError} For an unknown read type, a missing callback, or more arguments than
   * the type takes.
   * @throws {HandleError} `EPIPE` if the handle is destroyed.
   *
   * @example A length header, then a payload of that length
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const peer = listener.accept().then(async (conn) => {
   *   await conn.write(new TextEncoder().encode("5\nhello"));
   *   conn.close();
   * });
   * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * const payload = await new Promise<string>((resolve) => {
   *   h.pushRead("line", (h, size) => {
   *     h.unshiftRead("chunk", Number(size), (_h, bytes) => resolve(new TextDecoder().decode(bytes)));
   *   });
   * });
   * assert.equal(payload, "hello");
   * h.destroy();
   * await peer;
   * listener.close();
   * ```
   */
  pushRead<R extends ReadTypeArg<H> | CustomReaderFor<H>, P extends unknown[]>(
    type: R,
    ...args: PushReadArgs<R, P, H>
  ): void;

  /**
   * Like `pushRead`, but puts the read at the head of the queue: called from
   * a read callback, it runs before every read queued earlier (two unshifts run last-in
   * first-out).
   *
   * @param type A custom reader, or a read type or its name.
   * @param args The type's arguments, then the callback.
   * @throws {TypeError} For an unknown read type, a missing callback, or more arguments than
   * the type takes.
   * @throws {HandleError} `EPIPE` if the handle is destroyed.
   *
   * @example Unshifting runs before what was queued earlier
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const peer = listener.accept().then(async (conn) => {
   *   await conn.write(new TextEncoder().encode("a\nb\nc\n"));
   *   return conn;
   * });
   * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * const seen: string[] = [];
   * await new Promise<void>((done) => {
   *   h.pushRead("line", (h, line) => {
   *     seen.push(line);
   *     h.unshiftRead("line", (_h, line) => seen.push(line));
   *   });
   *   h.pushRead("line", (_h, line) => {
   *     seen.push(line);
   *     done();
   *   });
   * });
   * assert.deepEqual(seen, ["a", "b", "c"]);
   * h.destroy();
   * (await peer).close();
   * listener.close();
   * ```
   */
  unshiftRead<R extends ReadTypeArg<H> | CustomReaderFor<H>, P extends unknown[]>(
    type: R,
    ...args: PushReadArgs<R, P, H>
  ): void;

  /**
   * Queues a typed read and returns a promise of its first value (`line` resolves with the
   * line, `chunk` with the bytes). It rejects with the `HandleError` that failed it: `EPIPE`
   * at end of input, the codec's error, or `ECANCELED` if the handle is destroyed first.
   *
   * A last argument `{ signal }` (an object with only that key) is not passed to the type:
   * aborting the signal removes the read from the queue without consuming a byte, rejects it
   * with a non-fatal `ECANCELED`, and the reads after it go on.
   *
   * Mistakes in the arguments (an unknown type name, a missing `chunk` length, too many
   * arguments) reject the promise too, with the `TypeError` or `RangeError` that says so.
   *
   * @param type A read type (`chunk(4)` with its arguments bound), or its name.
   * @param args The type's arguments, optionally followed by `{ signal }`.
   * @returns The first value the type delivers.
   *
   * @example Reading a line
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const peer = listener.accept().then(async (conn) => {
   *   await conn.write(new TextEncoder().encode("220 ready\r\n"));
   *   return conn;
   * });
   * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * assert.equal(await h.read("line"), "220 ready");
   * h.destroy();
   * (await peer).close();
   * listener.close();
   * ```
   */
  read<R extends ReadTypeArg<H>, P extends unknown[]>(
    type: R,
    ...args: ReadCallArgs<R, P, H, ReadOptions>
  ): Promise<ReadResultOf<R>>;

  /**
   * Iterates over the values of a read type until end of input. Each step is one read request
   * in the queue, so the loop interleaves correctly with other reads; the iteration ends
   * cleanly at end of input between frames, and throws the `HandleError` otherwise (`EPIPE`
   * for a partial frame at end of input). Leaving the loop early (`break`) leaves the bytes
   * not yet decoded in `h.rbuf` for the next reader.
   *
   * Mistakes in the arguments (an unknown type name, a missing `chunk` length, too many
   * arguments) reject the first `next()` with the `TypeError` or `RangeError` that says so.
   *
   * @param type A read type, or its name.
   * @param args The type's arguments.
   * @returns An async iterator of the type's first value.
   *
   * @example Counting lines until the peer closes
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const peer = listener.accept().then(async (conn) => {
   *   await conn.write(new TextEncoder().encode("one\ntwo\nthree\n"));
   *   conn.close();
   * });
   * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * const lines: string[] = [];
   * for await (const line of h.iterate("line")) lines.push(line);
   * assert.deepEqual(lines, ["one", "two", "three"]);
   * h.destroy();
   * await peer;
   * listener.close();
   * ```
   */
  iterate<R extends ReadTypeArg<H>, P extends unknown[]>(
    type: R,
    ...args: IterateArgs<R, P, H>
  ): ReadIterator<ReadResultOf<R>>;

  /**
   * Stops reading from the transport. Deno cannot cancel a read in flight without closing the
   * connection, so a read already in flight completes; its bytes stay in `h.rbuf`, undelivered,
   * until `startRead()` (a `pushRead` still dispatches what is buffered), and no new read is
   * started. End of input seen meanwhile is reported after `startRead()`.
   *
   * @example Pausing and resuming
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const conn = Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const h = new Handle(await listener.accept());
   * h.stopRead();
   * h.startRead();
   * assert.equal(h.destroyed, false);
   * h.destroy();
   * (await conn).close();
   * listener.close();
   * ```
   */
  stopRead(): void;

  /**
   * Starts reading, as AnyEvent's `start_read`: after `stopRead()` it resumes and dispatches
   * what was buffered meanwhile; on a handle with nothing queued it reads all the same (into
   * `h.rbuf`, up to `maxReadSize` bytes while nobody consumes them), so that a handle that only
   * wants to notice the peer closing does: end of input then calls `onEof`, or is a fatal
   * `EPIPE` without it. A no-op after end of input.
   *
   * @example Noticing that an idle peer went away
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const h = new Handle(await listener.accept());
   * h.startRead();
   * conn.close();
   * await assert.rejects(h.closed, { code: "EPIPE" });
   * listener.close();
   * ```
   */
  startRead(): void;
}
