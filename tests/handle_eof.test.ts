import assert from "node:assert/strict";
import { encodeNetstring, Handle, HandleError } from "../mod.ts";
import { everySplit, scripted } from "../testing/mod.ts";
import { deferred, pair, writeAll } from "./_net.ts";

const isCode = (code: string) => (e: unknown) =>
  e instanceof HandleError && e.code === code && e.fatal;

Deno.test("eof: queued reads are fed what remains, then an unsatisfied read is a fatal EPIPE", async () => {
  const lines: string[] = [];
  const failed = deferred<[HandleError, string]>();
  const p = await pair({ onError: (h, err) => failed.resolve([err, h.rbuf.text()]) });
  for (let i = 0; i < 3; i++) p.h.pushRead("line", (_h, line) => lines.push(line));
  await writeAll(p.peer, "A\nB\npartial");
  p.peer.close();
  const [err, left] = await failed.promise;
  assert.deepEqual(lines, ["A", "B"]);
  assert.equal(err.code, "EPIPE");
  assert.equal(err.fatal, true);
  assert.equal(left, "partial", "rbuf still holds the leftover inside onError");
  await assert.rejects(p.h.closed, (e) => e === err);
  assert.equal(p.h.destroyed, true);
  await p.close();
});

Deno.test("eof: an empty queue with onRead calls onEof", async () => {
  const eof = deferred();
  let data = "";
  const p = await pair({
    onRead(h) {
      data += h.rbuf.text();
      h.rbuf.consume(h.rbuf.length);
    },
    onEof: () => eof.resolve(),
  });
  await writeAll(p.peer, "bytes");
  p.peer.close();
  await eof.promise;
  assert.equal(data, "bytes");
  assert.equal(p.h.destroyed, false);
  assert.equal(p.h.eof, true);
  await p.close();
});

Deno.test("eof: onEof alone notices a peer closing an idle connection", async () => {
  const eof = deferred();
  const p = await pair({ onEof: () => eof.resolve() });
  p.peer.close();
  await eof.promise;
  await p.close();
});

Deno.test("eof: without onEof, end of input is a fatal EPIPE that rejects h.closed", async () => {
  const errors: HandleError[] = [];
  const p = await pair({ onRead: () => {}, onError: (_h, e) => errors.push(e) });
  p.peer.close();
  await assert.rejects(p.h.closed, isCode("EPIPE"));
  assert.equal(errors.length, 1);
  await p.close();
});

Deno.test("eof: without onError the error rejects h.closed and is no unhandled rejection", async () => {
  const p = await pair({ onRead: () => {} });
  p.peer.close();
  await assert.rejects(p.h.closed, isCode("EPIPE"));
  assert.ok(p.h.error instanceof HandleError);
  await p.close();
});

Deno.test("eof: a pending promise read rejects with EPIPE", async () => {
  const p = await pair();
  const read = p.h.read("line");
  await writeAll(p.peer, "no newline");
  p.peer.close();
  await assert.rejects(read, isCode("EPIPE"));
  await p.close();
});

Deno.test("eof: onRead that consumes nothing at end of input is a fatal EPIPE", async () => {
  const p = await pair({ onRead: () => {}, onEof: () => assert.fail("onEof must not run") });
  await writeAll(p.peer, "ignored");
  p.peer.close();
  await assert.rejects(p.h.closed, isCode("EPIPE"));
  await p.close();
});

Deno.test("eof: a custom reader still unsatisfied at end of input is a fatal EPIPE", async () => {
  const p = await pair();
  let calls = 0;
  p.h.pushRead(() => {
    calls++;
    return false;
  });
  p.peer.close();
  await assert.rejects(p.h.closed, isCode("EPIPE"));
  assert.ok(calls >= 2, "called at once and again at end of input");
  await p.close();
});

Deno.test("eof: onEof may queue a read that the remaining bytes satisfy", async () => {
  const got = deferred<string>();
  const p = await pair({
    onRead: () => {},
    onEof: (h) => h.pushRead("chunk", 4, (_h, b) => got.resolve(new TextDecoder().decode(b))),
  });
  p.h.onRead = undefined;
  p.h.pushRead("line", () => {});
  await writeAll(p.peer, "x\ntail");
  p.peer.close();
  assert.equal(await got.promise, "tail");
  assert.equal(p.h.destroyed, false);
  await p.close();
});

Deno.test("eof: after a fatal error no callback runs again and onError runs once", async () => {
  let errors = 0;
  let reads = 0;
  const p = await pair({ onError: () => errors++, onEof: () => assert.fail("no onEof") });
  p.h.pushRead("line", () => reads++);
  p.h.pushRead("chunk", 100, () => reads++);
  await writeAll(p.peer, "a\nshort");
  p.peer.close();
  await assert.rejects(p.h.closed);
  assert.equal(reads, 1);
  assert.equal(errors, 1);
  assert.throws(() => p.h.pushRead("line", () => reads++), isCode("EPIPE"));
  await p.close();
});

// With the test kit's scripted peer: end of input after every way of cutting the input.

Deno.test("eof: however the input is cut, the same lines, then EPIPE with the same leftover", async () => {
  for (const reads of everySplit("A\nB\r\npartial\r")) {
    const peer = scripted().send(...reads).end();
    const lines: string[] = [];
    const failed = deferred<[HandleError, string]>();
    const h = new Handle(peer.conn, { onError: (h, err) => failed.resolve([err, h.rbuf.text()]) });
    for (let i = 0; i < 3; i++) h.pushRead("line", (_h, line) => lines.push(line));
    const [err, left] = await failed.promise;
    const cut = `reads of ${reads.map((r) => r.length)}`;
    assert.deepEqual(lines, ["A", "B"], cut);
    assert.equal(err.code, "EPIPE", cut);
    assert.equal(left, "partial\r", "a CR at end of input ends no line");
    await peer.done;
  }
});

Deno.test("eof: end of input anywhere inside a netstring is EPIPE; after its comma, a value", async () => {
  const wire = encodeNetstring("hello");
  for (let end = 0; end <= wire.length; end++) {
    const peer = scripted().send(wire.subarray(0, end)).end();
    const h = new Handle(peer.conn);
    const read = h.read("netstring");
    if (end === wire.length) {
      assert.equal(new TextDecoder().decode(await read), "hello");
      h.destroy();
    } else await assert.rejects(read, isCode("EPIPE"), `end after ${end} bytes`);
    await peer.done;
  }
});
