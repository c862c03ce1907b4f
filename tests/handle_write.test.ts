import assert from "node:assert/strict";
import { Handle, type HandleError } from "../mod.ts";
import { deferred, pair, readAll, tick, writeAll } from "./_net.ts";

const MIB = 1024 * 1024;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Reads exactly n bytes from a raw conn. */
async function readN(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let at = 0; at < n;) {
    const got = await conn.read(out.subarray(at));
    if (got === null) throw new Error(`end of input after ${at} of ${n} bytes`);
    at += got;
  }
  return out;
}

Deno.test("write: strings are UTF-8, arrays are copied at once", async () => {
  const p = await pair();
  const bytes = new Uint8Array([0x41, 0x42]);
  p.h.pushWrite("é€😀|");
  p.h.pushWrite(bytes);
  bytes.fill(0x5a); // too late to change what is sent
  await p.h.drain();
  assert.equal(text(await readN(p.peer, 12)), "é€😀|AB");
  await p.close();
});

Deno.test("write: 10,000 small writes leave in exact order", async () => {
  const p = await pair();
  let expected = "";
  for (let i = 0; i < 10_000; i++) {
    p.h.pushWrite(`${i},`);
    expected += `${i},`;
  }
  p.h.pushShutdown();
  assert.equal(text(await readAll(p.peer)), expected);
  await p.close();
});

Deno.test("write: 8 MiB to a slow reader arrives intact (partial writes resume)", async () => {
  const p = await pair();
  const big = Uint8Array.from({ length: 8 * MIB }, (_, i) => (i * 7) & 0xff);
  p.h.pushWrite(big);
  p.h.pushShutdown();
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(100_000);
  for (let n; (n = await p.peer.read(buf)) !== null;) {
    chunks.push(buf.slice(0, n));
    if (chunks.length % 8 === 0) await tick(1);
  }
  const got = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    got.set(c, at);
    at += c.length;
  }
  assert.equal(got.length, big.length);
  assert.deepEqual(got, big);
  await p.close();
});

Deno.test("write: unshiftWrite goes before what is not yet sent", async () => {
  const p = await pair();
  p.h.pushWrite("second,");
  p.h.unshiftWrite("first,");
  p.h.pushWrite("third");
  p.h.pushShutdown();
  assert.equal(text(await readAll(p.peer)), "first,second,third");
  await p.close();
});

Deno.test("drain: resolves at once when nothing is queued, and after the queue empties", async () => {
  const p = await pair();
  await p.h.drain();
  p.h.pushWrite("x".repeat(100_000));
  assert.ok(p.h.wbufLength > 0);
  await p.h.drain();
  assert.equal(p.h.wbufLength, 0);
  await p.close();
});

Deno.test("onDrain: called from the constructor and when set while drained", async () => {
  let calls = 0;
  const p = await pair({ onDrain: () => calls++ });
  assert.equal(calls, 1, "called inside new Handle");
  let later = 0;
  p.h.onDrain = () => later++;
  assert.equal(later, 1, "called when set");
  p.h.pushWrite("data");
  await p.h.drain();
  assert.equal(later, 2, "called again after the write completed");
  await p.close();
});

Deno.test("onDrain: with lowWaterMark it waits until unsent bytes fall to the mark", async () => {
  const lowWaterMark = 64 * 1024;
  const drained = deferred<number>();
  const p = await pair({ lowWaterMark });
  p.h.pushWrite(new Uint8Array(16 * MIB));
  await tick(20);
  p.h.onDrain = (h) => drained.resolve(h.wbufLength);
  let fired = false;
  drained.promise.then(() => fired = true);
  await tick(20);
  assert.equal(fired, false, "the peer has not read: too much is unsent");
  const reading = readN(p.peer, 16 * MIB);
  const left = await drained.promise;
  assert.ok(left <= lowWaterMark, `onDrain with ${left} unsent`);
  await reading;
  await p.close();
});

Deno.test("wbufMax: more unsent than wbufMax is a synchronous fatal ENOSPC, equal is fine", async () => {
  const errors: HandleError[] = [];
  const p = await pair({ wbufMax: 1000, onError: (_h, e) => errors.push(e) });
  p.h.pushWrite(new Uint8Array(1000));
  assert.equal(p.h.destroyed, false);
  assert.equal(errors.length, 0);
  p.h.pushWrite(new Uint8Array(1));
  assert.equal(errors.length, 1, "reported before pushWrite returned");
  assert.equal(errors[0].code, "ENOSPC");
  assert.equal(errors[0].fatal, true);
  assert.equal(p.h.destroyed, true);
  await assert.rejects(p.h.closed, (e) => e === errors[0]);
  await p.close();
});

Deno.test("wbufMax: against a peer that does not read", async () => {
  const p = await pair({ wbufMax: 4 * MIB, onError: () => {} });
  let pushed = 0;
  while (!p.h.destroyed) {
    p.h.pushWrite(new Uint8Array(256 * 1024));
    pushed += 256 * 1024;
    await tick(1);
    assert.ok(pushed < 256 * MIB, "wbufMax never fired");
  }
  assert.equal(p.h.error?.code, "ENOSPC");
  await p.close();
});

Deno.test("pushShutdown: the peer sees end of input and can still reply", async () => {
  const eof = deferred();
  const p = await pair({ onEof: () => eof.resolve() });
  p.h.pushWrite("request\n");
  p.h.pushShutdown();
  const reply = p.h.read("line");
  assert.equal(text(await readAll(p.peer)), "request\n");
  await writeAll(p.peer, "bye\n");
  assert.equal(await reply, "bye");
  p.peer.close();
  await eof.promise;
  assert.throws(() => p.h.pushWrite("late"), TypeError);
  await p.close();
});

Deno.test("write: an unknown write type throws TypeError and queues nothing", async () => {
  const p = await pair();
  assert.throws(() => (p.h.pushWrite as (...a: unknown[]) => boolean)("nope", 1), TypeError);
  assert.equal(p.h.wbufLength, 0);
  await p.close();
});

Deno.test("write: writing to a peer that went away is a fatal EPIPE or ECONNRESET", async () => {
  const failed = deferred<HandleError>();
  const p = await pair({ onError: (_h, e) => failed.resolve(e) });
  p.peer.close();
  await tick(10);
  const timer = setInterval(() => {
    if (!p.h.destroyed) p.h.pushWrite(new Uint8Array(64 * 1024));
  }, 1);
  const err = await failed.promise;
  clearInterval(timer);
  assert.ok(err.code === "EPIPE" || err.code === "ECONNRESET", err.code);
  assert.equal(err.fatal, true);
  await p.close();
});

Deno.test("write: a transport that takes a few bytes a call gets every byte, in order", async () => {
  // Sockets rarely take part of a write; pipes, layers and other transports do.
  const received: number[] = [];
  let calls = 0;
  let drains = 0;
  const transport = {
    read: () => new Promise<number | null>(() => {}), // nothing to read
    async write(p: Uint8Array): Promise<number> {
      calls++;
      await null; // accepted later, as a transport does
      const n = Math.min(p.length, 1 + (calls % 7));
      received.push(...p.subarray(0, n));
      return n;
    },
    close() {},
    closeWrite: () => Promise.resolve(),
  };
  const h = new Handle(transport, { onDrain: () => drains++ });
  let expected = "";
  for (let i = 0; i < 300; i++) {
    const piece = i % 3 === 0 ? `é${i};` : i % 3 === 1 ? "x".repeat(i) : `${i}\n`;
    if (i % 5 === 0) h.pushWrite(new TextEncoder().encode(piece));
    else h.pushWrite(piece);
    expected += piece;
    if (i % 50 === 0) await tick();
  }
  await h.drain();
  assert.equal(text(new Uint8Array(received)), expected);
  assert.equal(h.wbufLength, 0);
  assert.ok(calls > 1000, `${calls} writes`);
  assert.ok(drains > 0);
  h.destroy();
});
