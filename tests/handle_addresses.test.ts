/**
 * remoteAddr / localAddr: the socket's addresses for TCP and Unix conns, through TLS,
 * undefined for pipes and streams and before Handle.connect has connected.
 */
import assert from "node:assert/strict";
import { Handle } from "../mod.ts";
import { CLIENT, SERVER } from "./_tls.ts";

Deno.test("addresses: TCP, the same after starttls in both roles", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = new Handle(await listener.accept());
  const client = new Handle(conn);
  assert.deepEqual(server.remoteAddr, conn.localAddr);
  assert.deepEqual(server.localAddr, conn.remoteAddr);
  server.starttls("accept", SERVER);
  client.starttls("connect", CLIENT);
  client.pushWrite("x\n");
  assert.equal(await server.read("line"), "x");
  assert.equal(server.tls, true);
  assert.deepEqual(server.remoteAddr, conn.localAddr);
  assert.deepEqual(client.localAddr, conn.localAddr);
  server.destroy();
  client.destroy();
  await Promise.all([server.closed, client.closed]);
  listener.close();
});

Deno.test("addresses: Unix sockets", async () => {
  const path = await Deno.makeTempFile({ suffix: ".sock" });
  await Deno.remove(path);
  const listener = Deno.listen({ transport: "unix", path });
  const conn = await Deno.connect({ transport: "unix", path });
  const h = new Handle(await listener.accept());
  assert.equal(h.localAddr?.transport, "unix");
  assert.equal((h.localAddr as Deno.UnixAddr).path, path);
  h.destroy();
  conn.close();
  listener.close();
  await h.closed;
  await Deno.remove(path).catch(() => {});
});

Deno.test("addresses: undefined for streams, and for Handle.connect until it has connected", async () => {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const s = Handle.fromStreams(readable, writable);
  assert.equal(s.remoteAddr, undefined);
  assert.equal(s.localAddr, undefined);
  s.destroy();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connected = Promise.withResolvers<void>();
  const h = Handle.connect({ hostname: "127.0.0.1", port: listener.addr.port }, {
    onConnect: () => connected.resolve(),
  });
  assert.equal(h.remoteAddr, undefined);
  const peer = await listener.accept();
  await connected.promise;
  assert.deepEqual(h.remoteAddr, peer.localAddr);
  assert.deepEqual(h.localAddr, peer.remoteAddr);
  h.destroy();
  peer.close();
  await Promise.all([h.closed, s.closed]);
  listener.close();
});
