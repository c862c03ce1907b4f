/**
 * The accepting side reads the server name (SNI) from the ClientHello itself, before TLS
 * starts (tls/client_hello.ts): from real ClientHellos (Deno's and OpenSSL's), from every
 * prefix of one (wait for more), split over many small records, and from bytes that are no
 * ClientHello at all (TLS is left to judge them). Over a socket: a ClientHello cut into
 * one-byte records that arrive one by one still gets its certificate.
 */
import assert from "node:assert/strict";
import { Handle, NEED_MORE } from "../mod.ts";
import { clientHelloServerName } from "../tls/client_hello.ts";
import { tick } from "./_net.ts";
import { CA, CERT, KEY } from "./_tls.ts";

/** Reads one whole TLS record from `conn`. */
async function readRecord(conn: Deno.Conn): Promise<Uint8Array> {
  let bytes = new Uint8Array(0);
  const buf = new Uint8Array(4096);
  while (bytes.length < 5 || bytes.length < 5 + ((bytes[3] << 8) | bytes[4])) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("end of input inside a record");
    bytes = new Uint8Array([...bytes, ...buf.subarray(0, n)]);
  }
  return bytes;
}

/** The ClientHello record Deno's TLS client sends for `hostname`. */
async function denoHello(hostname: string): Promise<Uint8Array> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const client = Deno.startTls(conn, { hostname, caCerts: [CA] });
  const server = await listener.accept();
  listener.close();
  const hello = await readRecord(server);
  server.close();
  await client.then((c) => c.close(), () => {});
  return hello;
}

/** The ClientHello record `openssl s_client` sends with `args` (`-servername x`). */
async function opensslHello(...args: string[]): Promise<Uint8Array> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const child = new Deno.Command("openssl", {
    args: ["s_client", "-connect", `127.0.0.1:${listener.addr.port}`, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const server = await listener.accept();
  listener.close();
  const hello = await readRecord(server);
  server.close();
  await child.status;
  return hello;
}

/** Copies `from` to `to` until end of input (or an error), then ends `to`'s writing. */
async function copy(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  try {
    for (let n; (n = await from.read(buf)) !== null;) await to.write(buf.subarray(0, n));
    await to.closeWrite();
  } catch { /* the other side has gone */ }
}

/** The handshake bytes of one record cut into records of `size` bytes. */
function refragment(record: Uint8Array, size: number): Uint8Array {
  const body = record.subarray(5);
  const out: number[] = [];
  for (let at = 0; at < body.length; at += size) {
    const part = body.subarray(at, at + size);
    out.push(22, 3, 1, part.length >> 8, part.length & 0xff, ...part);
  }
  return new Uint8Array(out);
}

/** A record of handshake `body` (its 4-byte message header included). */
function record(body: number[], type = 22): Uint8Array {
  return new Uint8Array([type, 3, 1, body.length >> 8, body.length & 0xff, ...body]);
}

/** A ClientHello message: version, random, empty session id, one suite, null compression. */
function clientHello(extensions?: number[]): number[] {
  const body = [3, 3, ...new Array(32).fill(7), 0, 0, 2, 0x13, 0x01, 1, 0];
  if (extensions !== undefined) body.push(extensions.length >> 8, extensions.length & 0xff);
  body.push(...(extensions ?? []));
  return [1, 0, body.length >> 8, body.length & 0xff, ...body];
}

/** A server_name extension with one entry of `type`. */
function serverNameExtension(name: string, type = 0): number[] {
  const bytes = [...new TextEncoder().encode(name)];
  const entry = [type, bytes.length >> 8, bytes.length & 0xff, ...bytes];
  const list = [entry.length >> 8, entry.length & 0xff, ...entry];
  return [0, 0, list.length >> 8, list.length & 0xff, ...list];
}

Deno.test("client hello: the name in Deno's and OpenSSL's ClientHellos, and none without one", async () => {
  assert.equal(clientHelloServerName(await denoHello("a.example")), "a.example");
  assert.equal(clientHelloServerName(await denoHello("127.0.0.1")), "");
  assert.equal(clientHelloServerName(await opensslHello("-servername", "B.Example")), "B.Example");
  assert.equal(clientHelloServerName(await opensslHello("-noservername")), "");
});

Deno.test("client hello: every prefix waits for more, also split over records of 1 to 300 bytes", async () => {
  const hello = await denoHello("a.example");
  for (const bytes of [hello, refragment(hello, 1), refragment(hello, 7), refragment(hello, 300)]) {
    for (let n = 0; n < bytes.length; n++) {
      assert.equal(clientHelloServerName(bytes.subarray(0, n)), NEED_MORE, `${n} bytes`);
    }
    assert.equal(clientHelloServerName(bytes), "a.example");
    // What follows the ClientHello (here, the start of another record) changes nothing.
    assert.equal(clientHelloServerName(new Uint8Array([...bytes, 22, 3])), "a.example");
  }
});

Deno.test("client hello: names by their entry type, and ClientHellos without extensions or a name", () => {
  const name = (...extensions: number[][]) =>
    clientHelloServerName(record(clientHello(extensions.flat())));
  assert.equal(name(serverNameExtension("x.example")), "x.example");
  assert.equal(name([0xff, 0x01, 0, 1, 0], serverNameExtension("late.example")), "late.example");
  assert.equal(name([0xff, 0x01, 0, 1, 0]), "");
  assert.equal(name(serverNameExtension("not-a-host", 1)), "", "only host_name entries count");
  assert.equal(clientHelloServerName(record(clientHello())), "", "no extensions at all");
});

Deno.test("client hello: bytes that are no ClientHello are left to TLS to judge", () => {
  const hello = clientHello(serverNameExtension("x.example"));
  const encoder = new TextEncoder();
  const cases: [string, Uint8Array][] = [
    ["plaintext", encoder.encode("GET / HTTP/1.1\r\n\r\n")],
    ["an SSLv2-framed hello", new Uint8Array([0x80, 0x2e, 1, 3, 1, 0, 0x15])],
    ["an alert record first", new Uint8Array([...record([2, 40], 21), ...record(hello)])],
    ["another handshake message", record([2, ...hello.slice(1)])],
    ["an empty handshake record", new Uint8Array([...record([]), ...record(hello)])],
    ["a ClientHello over 64 KiB", record([1, 1, 0, 0, ...hello.slice(4)])],
    ["an extension longer than the message", record(clientHello([0, 0, 0, 50, 0, 1]))],
    ["a name list longer than its extension", record(clientHello([0, 0, 0, 3, 0, 9, 0]))],
    ["a name longer than its list", record(clientHello([0, 0, 0, 5, 0, 3, 0, 0, 9]))],
    ["a body shorter than its fields", record([1, 0, 0, 3, 3, 3, 0])],
  ];
  for (const [what, bytes] of cases) assert.equal(clientHelloServerName(bytes), undefined, what);
});

Deno.test("client hello: a ClientHello in one-byte records, arriving one by one, gets the certificate for its name", async () => {
  // Only an sni table: a name read wrongly would get an alert instead of a session.
  const { warn } = console;
  console.warn = () => {};
  const server = Handle.serve({
    hostname: "127.0.0.1",
    port: 0,
    handle: { tls: "accept", tlsOptions: { sni: { localhost: { cert: CERT, key: KEY } } } },
  }, async (h) => {
    for await (const line of h.iterate("line")) h.pushWrite(`${line}!\n`);
    h.destroy();
  });
  console.warn = warn;
  // A relay that cuts the client's first record into one-byte records, sent one at a time.
  const relay = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const relayed = (async () => {
    const client = await relay.accept();
    const upstream = await Deno.connect({
      hostname: "127.0.0.1",
      port: (server.addr as Deno.NetAddr).port,
    });
    upstream.setNoDelay(true);
    const pieces = refragment(await readRecord(client), 1);
    for (let at = 0; at < pieces.length; at += 6) {
      await upstream.write(pieces.subarray(at, at + 6));
      if (at % 60 === 0) await tick(0);
    }
    await Promise.all([copy(client, upstream), copy(upstream, client)]);
    client.close();
    upstream.close();
  })();
  const c = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: relay.addr.port }), {
    tls: "connect",
    tlsOptions: { hostname: "localhost", caCerts: [CA] },
  });
  c.pushWrite("hello\n");
  assert.equal(await c.read("line"), "hello!");
  c.destroy();
  await c.closed;
  await relayed;
  relay.close();
  await server.shutdown(1);
});

Deno.test("client hello: a client that sends part of its ClientHello and leaves fails the handshake alike with and without sni", async () => {
  const hello = await denoHello("localhost");
  const errors: string[] = [];
  for (const sni of [undefined, { localhost: { cert: CERT, key: KEY } }]) {
    const server = Handle.serve({
      hostname: "127.0.0.1",
      port: 0,
      handle: {
        tls: "accept",
        tlsOptions: { cert: CERT, key: KEY, sni },
        onError: (_h, e) => errors.push(`${e.code}: ${e.message}`),
      },
    }, (h) => void h.read("line").catch(() => {}).finally(() => h.destroy()));
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: (server.addr as Deno.NetAddr).port,
    });
    await conn.write(hello.subarray(0, 100));
    await tick(20);
    conn.close();
    await server.shutdown(1);
  }
  assert.deepEqual(errors, [
    "EPROTO: TLS handshake failed: end of input during the handshake",
    "EPROTO: TLS handshake failed: end of input during the handshake",
  ]);
});
