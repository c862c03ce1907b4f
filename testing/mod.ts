/**
 * @anyevent/handle/testing: test your protocol code without sockets or timing by hand.
 *
 * - {@linkcode scripted} makes a peer that plays a script: the bytes it sends (each chunk one
 *   read), the bytes the handle must write, pauses, end of input, a reset, and the handle's
 *   half-close. `new Handle(peer.conn)` takes the peer like a `Deno.Conn`, and `peer.done`
 *   settles when the script has run and the handle has closed, or rejects with the step that
 *   went wrong and both the expected and the actual bytes.
 * - {@linkcode everySplit} gives every way the network may cut a message into reads, so one
 *   loop checks that your code gives the same result however the stream is cut.
 *
 * No dependencies, no sockets, no permissions: the peer lives in memory. It checks what your
 * code says on the wire; keep a few tests against a real server too.
 *
 * @example A line protocol handler, fed its input cut in every way
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import { everySplit, scripted } from "@anyevent/handle/testing";
 *
 * // The code under test: answers each "ADD a b" line with the sum.
 * async function adder(h: Handle): Promise<void> {
 *   for await (const line of h.iterate("line")) {
 *     const [, a, b] = line.split(" ");
 *     h.pushWrite(`${Number(a) + Number(b)}\r\n`);
 *   }
 *   h.destroy();
 * }
 *
 * for (const reads of everySplit("ADD 1 2\r\nADD 40 2\r\n")) {
 *   const peer = scripted().send(...reads).expect("3\r\n42\r\n").end();
 *   await adder(new Handle(peer.conn));
 *   await peer.done;
 * }
 * ```
 *
 * @module
 */
export { everySplit } from "./every_split.ts";
export { scripted, ScriptedPeer } from "./scripted.ts";
export type { ScriptedOptions } from "./scripted.ts";
export type { Transport } from "../base/transport.ts";
