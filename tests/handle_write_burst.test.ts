/**
 * One write per burst whatever the consumer style: the replies to pipelined requests that
 * arrive in one read leave in one transport write for `pushRead` callbacks, `iterate` and
 * `await read()` loops alike, and a lone request's reply is not held back. The transport is a
 * real conn whose writes are counted on the way through (no timing).
 */
import assert from "node:assert/strict";
import { Handle } from "../mod.ts";
import { connected, readAll, recording, writeAll } from "./_net.ts";

type Server = (h: Handle, n: number) => Promise<void>;

const servers: Record<string, Server> = {
  pushRead: (h, n) =>
    new Promise((resolve) => {
      let left = n;
      const onLine = (h: Handle, line: string) => {
        h.pushWrite(`${line}!\n`);
        if (--left === 0) resolve();
        else h.pushRead("line", onLine);
      };
      h.pushRead("line", onLine);
    }),
  iterate: async (h, n) => {
    let left = n;
    for await (const line of h.iterate("line")) {
      h.pushWrite(`${line}!\n`);
      if (--left === 0) break;
    }
  },
  read: async (h, n) => {
    for (let i = 0; i < n; i++) h.pushWrite(`${await h.read("line")}!\n`);
  },
};

const BURST = 32;

for (const [style, serve] of Object.entries(servers)) {
  Deno.test(`write burst: ${style}: replies to ${BURST} pipelined requests leave in one write`, async () => {
    const { conn, peer } = await connected();
    const { transport, writes } = recording(conn);
    const h = new Handle(transport);
    const requests = Array.from({ length: BURST }, (_, i) => `req${i}\n`).join("");
    await writeAll(peer, requests); // one write: the burst arrives in one read
    await serve(h, BURST);
    await h.drain();
    h.pushShutdown();
    const replies = new TextDecoder().decode(await readAll(peer));
    assert.equal(replies, Array.from({ length: BURST }, (_, i) => `req${i}!\n`).join(""));
    assert.deepEqual(writes, [replies.length], `writes: ${writes}`);
    h.destroy();
    await h.closed;
    peer.close();
  });

  Deno.test(`write burst: ${style}: a lone request is answered before the next arrives`, async () => {
    const { conn, peer } = await connected();
    const { transport, writes } = recording(conn);
    const h = new Handle(transport);
    const served = serve(h, 3);
    const buf = new Uint8Array(64);
    for (let i = 0; i < 3; i++) {
      // Ping-pong: the next request is sent only once the reply came back, so a reply that
      // waited for more requests would hang this test.
      await writeAll(peer, `ping${i}\n`);
      const n = await peer.read(buf);
      assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), `ping${i}!\n`);
    }
    await served;
    assert.equal(writes.length, 3);
    h.destroy();
    await h.closed;
    peer.close();
  });
}

Deno.test("write burst: a consumer that stops taking frames still gets its replies written", async () => {
  const { conn, peer } = await connected();
  const { transport } = recording(conn);
  const h = new Handle(transport);
  await writeAll(peer, "a\nb\nc\n");
  h.pushWrite(`${await h.read("line")}!\n`); // "b" and "c" stay buffered, nobody reads them
  await h.drain(); // must not wait for the reader to move on
  const buf = new Uint8Array(16);
  const n = await peer.read(buf);
  assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), "a!\n");
  h.destroy();
  await h.closed;
  peer.close();
});
