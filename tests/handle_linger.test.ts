/**
 * linger: `destroy()` with bytes unsent returns at once and runs no callback again, while the
 * queued bytes keep leaving in the background for up to `linger` seconds; then the
 * connection closes. `linger: 0` drops them; a fatal error has nothing to flush.
 */
import assert from "node:assert/strict";
import { Handle } from "../mod.ts";
import { pair, readAll, tick } from "./_net.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("linger: a goodbye pushed just before destroy() arrives, then the peer sees the end", async () => {
  const p = await pair();
  p.h.pushWrite("221 bye\r\n");
  p.h.destroy();
  assert.equal(p.h.destroyed, true);
  assert.equal(text(await readAll(p.peer)), "221 bye\r\n");
  await p.h.closed;
  await p.close();
});

Deno.test("linger: 8 MiB queued before destroy() all leave, and no callback runs meanwhile", async () => {
  let callbacks = 0;
  const p = await pair({
    onDrain: () => callbacks++,
    onError: () => callbacks++,
    onEof: () => callbacks++,
  });
  const before = callbacks; // onDrain runs once from the constructor
  const big = Uint8Array.from({ length: 8 << 20 }, (_, i) => i & 0xff);
  p.h.pushWrite(big);
  p.h.destroy();
  const got = await readAll(p.peer); // reads slowly enough that most bytes wait in the queue
  assert.equal(got.length, big.length);
  assert.deepEqual(got, big);
  await p.h.closed;
  assert.equal(callbacks, before);
  await p.close();
});

Deno.test("linger: 0 drops the queued bytes and closes at once", async () => {
  const p = await pair({ linger: 0 });
  p.h.pushWrite(new Uint8Array(32 << 20)); // far more than the socket buffers hold
  await tick(10);
  p.h.destroy();
  await p.h.closed; // does not wait for the peer
  const got = await readAll(p.peer);
  assert.ok(got.length < 32 << 20, `${got.length} bytes arrived`);
  await p.close();
});

Deno.test("linger: the time runs out against a peer that never reads", async () => {
  const p = await pair({ linger: 0.2 });
  p.h.pushWrite(new Uint8Array(32 << 20));
  p.h.destroy();
  const started = performance.now();
  await p.h.closed;
  const waited = performance.now() - started;
  assert.ok(waited >= 150, `closed after ${waited} ms`);
  await p.close();
});

Deno.test("linger: a peer that goes away ends it silently", async () => {
  const p = await pair({ onError: () => assert.fail("no callback after destroy") });
  p.h.pushWrite(new Uint8Array(32 << 20));
  p.h.destroy();
  p.peer.close();
  await p.h.closed; // resolves: the write error is not reported
  await p.close();
});

Deno.test("linger: the setter takes seconds >= 0", async () => {
  const p = await pair();
  assert.equal(p.h.linger, 60);
  p.h.linger = 0;
  assert.equal(p.h.linger, 0);
  assert.throws(() => p.h.linger = -1, RangeError);
  assert.throws(() => new Handle(p.peer, { linger: NaN }), RangeError);
  await p.close();
});

Deno.test("linger: after a fatal error there is nothing to flush", async () => {
  const p = await pair({ wbufMax: 1024, onError: () => {} });
  p.h.pushWrite("first\n");
  p.h.pushWrite(new Uint8Array(4096)); // over wbufMax: fatal ENOSPC
  await assert.rejects(p.h.closed, { code: "ENOSPC" });
  assert.equal((await readAll(p.peer)).length, 0);
  await p.close();
});
