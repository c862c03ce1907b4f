/**
 * Mixed codecs in one read queue: a line, a netstring, a json text, a chunk and a packstring,
 * with no byte lost between them however the peer's writes are cut. Once over a real socket;
 * then with the scripted peer of the test kit, which delivers each cut exactly as given (TCP
 * may merge two writes, so cutting over a socket proves less).
 */
import assert from "node:assert/strict";
import { encodeJson, encodeNetstring, encodePackstring, Handle } from "../mod.ts";
import { everySplit, scripted } from "../testing/mod.ts";
import { concat } from "./_split.ts";

const WIRE = concat(
  "HELLO ü\r\n",
  encodeNetstring(new Uint8Array([0, 10, 13, 44, 58, 255])),
  encodeJson({ a: [1, "}"] }),
  "CHUNK",
  encodePackstring("n", "pack"),
  "tail\n",
);
const EXPECTED = [
  ["line", "HELLO ü"],
  ["netstring", [0, 10, 13, 44, 58, 255]],
  ["json", { a: [1, "}"] }],
  ["chunk", "CHUNK"],
  ["packstring", "pack"],
  ["line", "tail"],
];

/** Queues the six reads on `h`; resolves with what they got once the last one has. */
function queueAll(h: Handle): Promise<unknown[]> {
  const seen: unknown[] = [];
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return new Promise<unknown[]>((resolve, reject) => {
    h.pushRead("line", (_h, line) => seen.push(["line", line]));
    h.pushRead("netstring", (_h, b) => seen.push(["netstring", Array.from(b)]));
    h.pushRead("json", (_h, v) => seen.push(["json", v]));
    h.pushRead("chunk", 5, (_h, b) => seen.push(["chunk", text(b)]));
    h.pushRead("packstring", "n", (_h, b) => seen.push(["packstring", text(b)]));
    h.pushRead("line", (_h, line) => {
      seen.push(["line", line]);
      resolve(seen);
    });
    h.closed.catch(reject);
  });
}

/** The peer sends WIRE over a real loopback socket in one write, then closes. */
async function overSocket(): Promise<unknown[]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const peer = await accepted;
  const h = new Handle(conn, { onEof: (h) => h.destroy() });
  const seen = queueAll(h);
  await peer.write(WIRE);
  const result = await seen;
  peer.close();
  await h.closed; // onEof destroys it once the peer's close arrives
  listener.close();
  return result;
}

Deno.test("handle: line, netstring, json, chunk and packstring in one queue, one write", async () => {
  assert.deepEqual(await overSocket(), EXPECTED);
});

Deno.test("handle: the mixed queue gives the same values with the input cut at every byte", async () => {
  for (const reads of everySplit(WIRE)) {
    const peer = scripted().send(...reads).end();
    const h = new Handle(peer.conn, { onEof: (h) => h.destroy() });
    assert.deepEqual(await queueAll(h), EXPECTED, `reads of ${reads.map((r) => r.length)}`);
    await peer.done;
  }
});
