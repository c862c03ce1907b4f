/**
 * {@linkcode everySplit}: every way the network may cut a message, for protocol tests.
 *
 * @module
 */
import { toBytes } from "./_hex.ts";

/**
 * Yields ways to deliver `bytes` as separate reads: first whole, in one read; then cut in two at
 * every point (`[0..1] [1..n]`, `[0..2] [2..n]`, ... `[0..n-1] [n-1..n]`); then one byte per
 * read. Code that reads a stream must give the same result for each, since TCP may cut a
 * message anywhere. Spread one into {@linkcode ScriptedPeer.send} (each argument is one read).
 *
 * For `n` bytes that is `n + 1` ways (`n - 1` cuts); one byte gives one way, and nothing gives
 * one way with no reads. Every array is a fresh copy.
 *
 * @param bytes The message: bytes, or text sent as UTF-8.
 * @returns The ways, each a list of reads in order.
 * @throws {TypeError} If `bytes` is neither a string nor a `Uint8Array`.
 *
 * @example The ways to cut three bytes
 * ```ts
 * import { everySplit } from "@anyevent/handle/testing";
 * import assert from "node:assert/strict";
 *
 * const text = (reads: Uint8Array[]) => reads.map((r) => new TextDecoder().decode(r));
 * assert.deepEqual([...everySplit("abc")].map(text), [
 *   ["abc"],
 *   ["a", "bc"],
 *   ["ab", "c"],
 *   ["a", "b", "c"],
 * ]);
 * ```
 *
 * @example A line reader gives the same line however the line is cut
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import { everySplit, scripted } from "@anyevent/handle/testing";
 * import assert from "node:assert/strict";
 *
 * for (const reads of everySplit("héllo\r\n")) {
 *   const peer = scripted().send(...reads).end();
 *   const h = new Handle(peer.conn, { onEof: (h) => h.destroy() });
 *   assert.equal(await h.read("line"), "héllo");
 *   await peer.done;
 * }
 * ```
 */
export function* everySplit(bytes: string | Uint8Array): Generator<Uint8Array[], void, undefined> {
  const all = toBytes(bytes);
  if (all.length === 0) {
    yield [];
    return;
  }
  yield [all.slice()];
  if (all.length === 1) return;
  for (let cut = 1; cut < all.length; cut++) yield [all.slice(0, cut), all.slice(cut)];
  yield Array.from(all, (_, i) => all.slice(i, i + 1));
}
