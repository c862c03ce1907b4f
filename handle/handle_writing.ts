/**
 * {@linkcode HandleWriting}: the writing half of a handle's API, documented here; `Handle`
 * (`handle.ts`) implements it over its write side (`writer.ts`).
 *
 * @module
 */
import type { ReadOptions } from "./read_calls.ts";
import type { WriteArgs, WriteTypeArg } from "./typed.ts";

/**
 * How a handle writes: a queue of bytes sent in order (`pushWrite`, `unshiftWrite`), a way to
 * wait for it to empty (`drain`) and a half-close after it (`pushShutdown`). `Handle`
 * implements it.
 *
 * @typeParam H The handle (for the arguments of write types given by name).
 *
 * @example Writing, then waiting until the bytes have left
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
 * const h = Handle.fromStreams(readable, writable); // reads back what it writes
 * const line = h.read("line"); // a stream takes a write once it is read
 * assert.equal(h.pushWrite("hello\n"), true);
 * await h.drain();
 * assert.equal(h.wbufLength, 0);
 * assert.equal(await line, "hello");
 * h.destroy();
 * ```
 */
export interface HandleWriting<H> {
  /**
   * Queues bytes (a string is encoded as UTF-8), or a typed write, to be sent after everything
   * queued before. A typed write is a write type (`netstring`, `json`, ...) or its AnyEvent
   * name (`"netstring"`), then its arguments; a string alone is always text. The bytes are
   * copied, so the caller may reuse its array at once.
   *
   * Returns whether the caller may go on writing: `false` once more than `highWaterMark`
   * bytes (64 KiB by default) are unsent, as Node's `socket.write()` does. The bytes are queued
   * either way; wait for `onDrain` or `await h.drain()` before writing more.
   *
   * @param data Text or bytes, or a write type or its name.
   * @param args The write type's arguments (none for text or bytes).
   * @returns `false` when more than `highWaterMark` bytes are unsent (or the handle is gone).
   * @throws {TypeError} For an unknown write type, more arguments than the type takes, or
   * after `pushShutdown()`.
   * @throws {RangeError} From the write type's encoder, for a value it cannot encode.
   * @throws {HandleError} `EPIPE` if the handle is destroyed.
   *
   * @example Writing text and bytes
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
   * const peer = new Handle(await listener.accept());
   * h.pushWrite("hi ");
   * h.pushWrite(new Uint8Array([0x21, 0x0a]));
   * assert.equal(await peer.read("line"), "hi !");
   * h.destroy();
   * peer.destroy();
   * listener.close();
   * ```
   */
  pushWrite<W extends WriteTypeArg | string | Uint8Array, P extends unknown[]>(
    data: W,
    ...args: WriteArgs<W, P, H>
  ): boolean;

  /**
   * Like `pushWrite`, but puts the bytes in front of everything not yet
   * handed to the transport (bytes already being written go first).
   *
   * @returns `false` when more than `highWaterMark` bytes are unsent, as `pushWrite`.
   * @param data Text or bytes, or a write type or its name.
   * @param args The write type's arguments (none for text or bytes).
   * @throws {TypeError} For an unknown write type, more arguments than the type takes, or
   * after `pushShutdown()`.
   * @throws {HandleError} `EPIPE` if the handle is destroyed.
   */
  unshiftWrite<W extends WriteTypeArg | string | Uint8Array, P extends unknown[]>(
    data: W,
    ...args: WriteArgs<W, P, H>
  ): boolean;

  /**
   * Resolves when every queued byte has been accepted by the transport. Rejects with the fatal
   * `HandleError`, or `ECANCELED` if the handle is destroyed first.
   *
   * @param options `signal`: aborting it rejects with a non-fatal `ECANCELED` (the bytes stay
   * queued).
   * @returns A promise of the drained write queue.
   */
  drain(options?: ReadOptions): Promise<void>;

  /**
   * Half-closes the connection once the write queue is empty: the peer sees end of input,
   * and reading continues until the peer's own end of input. Writing afterwards throws.
   */
  pushShutdown(): void;
}
