/**
 * Mixed codecs in one read queue over a real socket: a line, a netstring, a json text, a
 * chunk and a packstring, with no byte lost between them however the peer's writes are cut.
 */
import assert from "node:assert/strict";
import { encodeJson, encodeNetstring, encodePackstring, Handle } from "../mod.ts";
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

async function session(pieces: Uint8Array[]): Promise<unknown[]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const peer = await accepted;
  const seen: unknown[] = [];
  let handle: Handle | undefined;
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const done = new Promise<void>((resolve, reject) => {
    const h = handle = new Handle(conn, {
      onError: (_h, e) => reject(e),
      onEof: (h) => h.destroy(),
    });
    h.pushRead("line", (_h, line) => seen.push(["line", line]));
    h.pushRead("netstring", (_h, b) => seen.push(["netstring", Array.from(b)]));
    h.pushRead("json", (_h, v) => seen.push(["json", v]));
    h.pushRead("chunk", 5, (_h, b) => seen.push(["chunk", text(b)]));
    h.pushRead("packstring", "n", (_h, b) => seen.push(["packstring", text(b)]));
    h.pushRead("line", (_h, line) => {
      seen.push(["line", line]);
      resolve();
    });
    h.closed.catch(reject);
  });
  for (const piece of pieces) {
    await peer.write(piece);
    await new Promise((r) => setTimeout(r, 1));
  }
  await done;
  peer.close();
  await handle!.closed; // onEof destroys it once the peer's close arrives
  listener.close();
  return seen;
}

Deno.test("handle: line, netstring, json, chunk and packstring in one queue, one write", async () => {
  assert.deepEqual(await session([WIRE]), EXPECTED);
});

Deno.test("handle: the mixed queue gives the same values with the input cut at every byte", async () => {
  for (let i = 1; i < WIRE.length; i++) {
    assert.deepEqual(
      await session([WIRE.subarray(0, i), WIRE.subarray(i)]),
      EXPECTED,
      `cut at ${i}`,
    );
  }
});
