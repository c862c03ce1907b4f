/**
 * Reliability in bulk: 1 GiB through one handle to an echo server Handle and back, with
 * backpressure on both sides, hashed (SHA-256, streaming) at the sender, the server and the
 * receiver.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Handle, type HandleError } from "../mod.ts";
import { assertFdsBack, bytePool, describe, openFds, Rng, within } from "./_reliability.ts";

const GIB = 2 ** 30;
const MIB = 2 ** 20;
const POOL = bytePool(8 * MIB, 0xb01c);

Deno.test("bulk: 1 GiB through one handle and back has the same SHA-256 at sender, server and receiver", async () => {
  const fdsBefore = openFds();
  const started = performance.now();
  const serverHash = createHash("sha256");
  const serverErrors: HandleError[] = [];
  let serverBytes = 0;
  let serverMaxQueued = 0;
  const server = Handle.serve({
    hostname: "127.0.0.1",
    port: 0,
    handle: {
      lowWaterMark: 1 * MIB,
      onError: (_h, e) => serverErrors.push(e),
      // Echo what arrives; stop reading while more than 4 MiB wait to leave.
      onRead(h) {
        const bytes = h.rbuf.take(h.rbuf.length);
        serverHash.update(bytes);
        serverBytes += bytes.length;
        h.pushWrite(bytes);
        serverMaxQueued = Math.max(serverMaxQueued, h.wbufLength);
        if (h.wbufLength > 4 * MIB) h.stopRead();
      },
      onDrain: (h) => h.startRead(),
      onEof: (h) => void h[Symbol.asyncDispose](),
    },
  }, () => {});
  const { port } = server.addr;

  const sentHash = createHash("sha256");
  const receivedHash = createHash("sha256");
  const clientErrors: HandleError[] = [];
  let received = 0;
  let maxQueued = 0;
  let resolveEof!: () => void;
  const eof = new Promise<void>((resolve) => resolveEof = resolve);
  const c = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }), {
    onError: (_h, e) => clientErrors.push(e),
    onRead(h) {
      const bytes = h.rbuf.take(h.rbuf.length);
      receivedHash.update(bytes);
      received += bytes.length;
    },
    onEof: () => resolveEof(),
  });

  const send = async () => {
    const rng = new Rng(0x5eed);
    for (let sent = 0; sent < GIB;) {
      // Random sizes from 1 byte to 256 KiB, at random places in the pool.
      const size = Math.min(GIB - sent, rng.int(1, 256 * 1024));
      const at = rng.int(0, POOL.length - size);
      const chunk = POOL.subarray(at, at + size);
      sentHash.update(chunk);
      c.pushWrite(chunk);
      sent += size;
      maxQueued = Math.max(maxQueued, c.wbufLength);
      if (c.wbufLength > 8 * MIB) await c.drain();
    }
    c.pushShutdown();
    await c.drain();
  };
  await within(Promise.all([send(), eof]), 120_000, "1 GiB there and back");
  const elapsed = performance.now() - started;
  c.destroy();
  await within(c.closed, 5000, "the client's closed promise");
  await within(server.shutdown(5), 10_000, "server.shutdown()");

  assert.equal(serverBytes, GIB);
  assert.equal(received, GIB);
  const sent = sentHash.digest("hex");
  assert.equal(serverHash.digest("hex"), sent, "the server saw what was sent");
  assert.equal(receivedHash.digest("hex"), sent, "what came back is what was sent");
  assert.equal(clientErrors.length, 0, describe(clientErrors));
  assert.equal(serverErrors.length, 0, describe(serverErrors));
  assert.ok(maxQueued <= 8 * MIB + 256 * 1024, `the client queued up to ${maxQueued} bytes`);
  // stopRead() lets the read in flight complete: one more read's worth may be echoed.
  assert.ok(serverMaxQueued <= 4 * MIB + 2 * 131072, `the server queued ${serverMaxQueued} bytes`);
  await assertFdsBack(fdsBefore);
  console.log(
    `1 GiB each way in ${(elapsed / 1000).toFixed(1)} s (${
      (2 * GIB / MIB / (elapsed / 1000)).toFixed(0)
    } MiB/s of socket traffic, sha256 ${sent.slice(0, 16)}...)`,
  );
});
