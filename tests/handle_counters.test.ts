/**
 * What a server user watches: per-handle byte counters and activity times, the server's live
 * handles and totals, and `pushWrite` telling the caller about backpressure.
 */
import assert from "node:assert/strict";
import { Handle, HandleError, line } from "../mod.ts";
import { pair, readAll, tick, writeAll } from "./_net.ts";

Deno.test("counters: bytesRead and bytesWritten count what crossed the connection", async () => {
  const { h, peer, close } = await pair();
  const before = Date.now();
  assert.equal(h.bytesRead, 0);
  assert.equal(h.bytesWritten, 0);
  assert.ok(h.createdAt <= before && h.createdAt > before - 5000);
  assert.equal(h.lastActivity, h.createdAt);
  h.pushWrite("héllo\n"); // 7 bytes of UTF-8
  await h.drain();
  assert.equal(h.bytesWritten, 7);
  await writeAll(peer, "one\ntwo\n");
  assert.equal(await h.read(line), "one");
  assert.equal(await h.read(line), "two");
  assert.equal(h.bytesRead, 8);
  assert.ok(h.lastActivity >= before, `${h.lastActivity} >= ${before}`);
  assert.ok(h.lastActivity <= Date.now() + 1);
  await close();
});

Deno.test("counters: lastActivity moves with each read", async () => {
  const { h, peer, close } = await pair();
  await writeAll(peer, "a\n");
  await h.read(line);
  const first = h.lastActivity;
  await tick(30);
  await writeAll(peer, "b\n");
  await h.read(line);
  assert.ok(h.lastActivity - first >= 25, `${h.lastActivity - first} ms`);
  await close();
});

Deno.test("pushWrite returns false once more than highWaterMark bytes are unsent", async () => {
  const { h, peer, close } = await pair({ highWaterMark: 10 });
  assert.equal(h.pushWrite("0123456789"), true); // exactly the mark
  assert.equal(h.pushWrite("x"), false);
  await h.drain();
  assert.equal(h.pushWrite("y"), true);
  await h.drain();
  const got = new Uint8Array(12);
  let n = 0;
  while (n < 12) n += (await peer.read(got.subarray(n)))!;
  assert.equal(new TextDecoder().decode(got), "0123456789xy");
  await close();
});

Deno.test("pushWrite: the default highWaterMark is 64 KiB", async () => {
  const { h, close } = await pair();
  // Nobody reads: the kernel takes some, the rest waits.
  let accepted = 0;
  while (h.pushWrite(new Uint8Array(4096))) accepted += 4096;
  assert.ok(h.wbufLength > 65536, `${h.wbufLength}`);
  assert.ok(accepted >= 65536 - 4096, `${accepted}`);
  h.linger = 0;
  await close();
  assert.throws(() => h.pushWrite("late"), HandleError);
});

Deno.test("pushWrite: a writer that waits for onDrain when told never passes wbufMax", async () => {
  const total = 4 << 20;
  const { h, peer, close } = await pair({ highWaterMark: 16384, wbufMax: 16384 + 4096 });
  const chunk = new Uint8Array(4096).fill(0x61);
  let sent = 0;
  const writing = (async () => {
    while (sent < total) {
      sent += chunk.length;
      if (!h.pushWrite(chunk)) await h.drain();
    }
    await h.drain();
    h.pushShutdown();
  })();
  const got = await readAll(peer);
  await writing;
  assert.equal(got.length, total);
  assert.equal(h.destroyed, false);
  await close();
});

Deno.test("highWaterMark: a bad value is a RangeError", async () => {
  await assert.rejects(() => pair({ highWaterMark: -1 }), RangeError);
});

Deno.test("serve: server.handles holds the open handles, and stats total their bytes", async () => {
  const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, async (h) => {
    for await (const l of h.iterate(line)) h.pushWrite(`${l}!\n`);
  });
  const port = (server.addr as Deno.NetAddr).port;
  const clients = await Promise.all(
    [0, 1, 2].map(() => Deno.connect({ hostname: "127.0.0.1", port })),
  );
  while (server.handles.size < 3) await tick(5);
  assert.equal(server.connections, 3);
  for (const h of server.handles) h.pushWrite("news\n");
  for (const [i, c] of clients.entries()) {
    await writeAll(c, `c${i}\n`);
    await c.closeWrite();
  }
  for (const [i, c] of clients.entries()) {
    assert.equal(new TextDecoder().decode(await readAll(c)), `news\nc${i}!\n`);
    c.close();
  }
  while (server.handles.size > 0) await tick(5);
  await server.shutdown(1);
  const stats = server.stats;
  assert.equal(stats.bytesIn, 3 * 3);
  assert.equal(stats.bytesOut, 3 * (5 + 4));
  assert.deepEqual(stats.errors, {});
});

Deno.test("serve: stats count the bytes of open connections too", async () => {
  const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, (h) => {
    h.pushRead(line, (h, l) => h.pushWrite(`${l}\n`));
  });
  const port = (server.addr as Deno.NetAddr).port;
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(c, "abc\n");
  const buf = new Uint8Array(4);
  let n = 0;
  while (n < 4) n += (await c.read(buf.subarray(n)))!;
  assert.equal(server.stats.bytesIn, 4);
  assert.equal(server.stats.bytesOut, 4);
  c.close();
  await server.shutdown(0); // the callback-style handle keeps its connection: drop it
});
