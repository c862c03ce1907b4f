import assert from "node:assert/strict";
import { Handle, type Transport } from "../mod.ts";
import { pair } from "./_net.ts";

/** A real conn whose writes and socket-option calls are recorded on the way through. */
function recording(conn: Deno.TcpConn) {
  const writes: number[] = [];
  const options: string[] = [];
  const transport: Transport = {
    read: (p) => conn.read(p),
    write: (p) => {
      writes.push(p.length);
      return conn.write(p);
    },
    closeWrite: () => conn.closeWrite(),
    close: () => conn.close(),
    setNoDelay: (on) => {
      options.push(`noDelay=${on}`);
      conn.setNoDelay(on);
    },
    setKeepAlive: (on) => {
      options.push(`keepalive=${on}`);
      conn.setKeepAlive(on);
    },
  };
  return { transport, writes, options };
}

async function connected(): Promise<{ conn: Deno.TcpConn; peer: Deno.TcpConn; done(): void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const peer = await accepted;
  listener.close();
  return { conn, peer, done: () => peer.close() };
}

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
