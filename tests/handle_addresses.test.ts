/**
 * remoteAddr / localAddr: the socket's addresses for TCP and Unix conns, through TLS,
 * undefined for pipes and streams and before Handle.connect has connected. Their types follow
 * from how the handle was made: `server.addr`, a served handle's and a connecting handle's
 * addresses need no cast (checked by `deno check` below, and by the values at run time).
 */
import assert from "node:assert/strict";
import {
  type AddressedHandle,
  encodeProxyV1,
  Handle,
  type HandleServer,
  type ServeOptions,
} from "../mod.ts";
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

Deno.test("addresses: a TCP server's address and its handles' are Deno.NetAddr, no cast", async () => {
  const seen: { remote: Deno.NetAddr; local: Deno.NetAddr }[] = [];
  const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, (h) => {
    seen.push({ remote: h.remoteAddr, local: h.localAddr });
    h.destroy();
  });
  const addr: Deno.NetAddr = server.addr;
  assert.equal(addr.transport, "tcp");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  assert.equal(await conn.read(new Uint8Array(1)), null);
  assert.deepEqual(seen, [{ remote: conn.localAddr, local: conn.remoteAddr }]);
  conn.close();
  await server.shutdown(1);
});

Deno.test("addresses: a Unix server's are Deno.UnixAddr", async () => {
  const path = await Deno.makeTempFile({ suffix: ".sock" });
  await Deno.remove(path);
  const paths: string[] = [];
  const server = Handle.serve({ path }, (h) => {
    paths.push(h.localAddr.path);
    h.destroy();
  });
  assert.equal(server.addr.path, path);
  const conn = await Deno.connect({ transport: "unix", path });
  assert.equal(await conn.read(new Uint8Array(1)), null);
  assert.deepEqual(paths, [path]);
  conn.close();
  await server.shutdown(1);
  await Deno.remove(path).catch(() => {});
});

Deno.test("addresses: behind a PROXY header on a port, the client's and the socket's are NetAddr", async () => {
  const seen: { client: number; balancer: string | undefined }[] = [];
  const server = Handle.serve({ hostname: "127.0.0.1", port: 0, proxy: true }, (h, info) => {
    seen.push({ client: h.remoteAddr.port, balancer: info?.socket.remoteAddr.hostname });
    h.destroy();
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const header = { source: { hostname: "192.0.2.1", port: 4242 } };
  await conn.write(
    encodeProxyV1({ ...header, destination: { hostname: "192.0.2.2", port: 80 } }),
  );
  assert.equal(await conn.read(new Uint8Array(1)), null);
  assert.deepEqual(seen, [{ client: 4242, balancer: "127.0.0.1" }]);
  conn.close();
  await server.shutdown(1);
});

/** Never called: only type-checked (deno check runs on tests/). */
export function addressTypes(
  tcp: HandleServer<AddressedHandle<Deno.NetAddr>, Deno.NetAddr>,
  options: ServeOptions<Handle>,
): void {
  const port: number = tcp.addr.port;
  // @ts-expect-error a TCP server's address has no path
  void tcp.addr.path;
  const unix = Handle.serve({ path: "/tmp/never" }, (h) => void h.remoteAddr.path);
  const path: string = unix.addr.path;
  // @ts-expect-error a Unix server's address has no port
  void unix.addr.port;
  // Behind a PROXY header, a Unix socket's connection reports the client's TCP address.
  Handle.serve({ path: "/tmp/never", proxy: true }, (h) => {
    // @ts-expect-error a NetAddr or a UnixAddr
    void h.remoteAddr.path;
  });
  // Options of the general type: either kind.
  Handle.serve(options, (h) => {
    // @ts-expect-error a NetAddr or a UnixAddr
    void h.remoteAddr.port;
  });
  const client = Handle.connect({ hostname: "127.0.0.1", port: 1 });
  const peerPort: number | undefined = client.remoteAddr?.port;
  // @ts-expect-error undefined until connected
  void client.remoteAddr.port;
  const unixClient = Handle.connect({ path: "/tmp/never" });
  const peerPath: string | undefined = unixClient.remoteAddr?.path;
  // A served handle is a Handle.
  const plain: Handle = client;
  void [port, path, peerPort, peerPath, plain];
}
