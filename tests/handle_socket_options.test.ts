import assert from "node:assert/strict";
import { Handle } from "../mod.ts";
import { connected, pair, recording } from "./_net.ts";

Deno.test("socket options: noDelay and keepalive apply at construction and through setters", async () => {
  const { conn, done } = await connected();
  const r = recording(conn);
  const h = new Handle(r.transport, { noDelay: true, keepalive: true });
  assert.deepEqual(r.options, ["noDelay=true", "keepalive=true"]);
  assert.equal(h.noDelay, true);
  h.noDelay = false;
  h.keepalive = false;
  assert.deepEqual(r.options.slice(2), ["noDelay=false", "keepalive=false"]);
  assert.equal(h.noDelay, false);
  assert.equal(h.keepalive, false);
  h.destroy();
  await h.closed;
  done();
});

Deno.test("socket options: noDelay is off unless set, as in AnyEvent::Handle", async () => {
  const { conn, done } = await connected();
  const r = recording(conn);
  const h = new Handle(r.transport);
  assert.equal(h.noDelay, false);
  assert.deepEqual(r.options, []);
  h.destroy();
  await h.closed;
  done();
});

Deno.test("autocork: pushes from several callbacks of one event-loop turn leave in one write", async () => {
  const { conn, peer, done } = await connected();
  const r = recording(conn);
  const h = new Handle(r.transport, { autocork: true });
  h.pushWrite("a");
  await Promise.resolve();
  h.pushWrite("b");
  await Promise.resolve();
  h.pushWrite("c");
  await h.drain();
  assert.deepEqual(r.writes, [3]);
  // Without autocork, the writer starts after the current microtask: "d" leaves on its own.
  h.autocork = false;
  h.pushWrite("d");
  await h.drain();
  assert.deepEqual(r.writes, [3, 1]);
  const buf = new Uint8Array(8);
  let got = "";
  while (got.length < 4) got += new TextDecoder().decode(buf.subarray(0, (await peer.read(buf))!));
  assert.equal(got, "abcd");
  h.destroy();
  await h.closed;
  done();
});

Deno.test("socket options: setters on a destroyed handle do not touch the closed conn", async () => {
  const p = await pair();
  p.h.destroy();
  p.h.noDelay = true;
  p.h.keepalive = true;
  assert.equal(p.h.noDelay, true);
  await p.close();
});
