import assert from "node:assert/strict";
import { defaultTlsOptions, Handle, HandleError } from "../mod.ts";
import { deferred } from "./_net.ts";
import { CA, CERT, CLIENT, handlePair, KEY, OTHER_CA, SERVER } from "./_tls.ts";

/** Handles over both ends of a native TLS connection (Deno.listenTls / Deno.connectTls). */
async function nativeTlsPair(): Promise<{ client: Handle; server: Handle }> {
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: CERT, key: KEY });
  const accepted = listener.accept();
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port: listener.addr.port,
    caCerts: [CA],
  });
  const server = new Handle(await accepted);
  listener.close();
  return { client: new Handle(conn), server };
}

Deno.test("tls options: a Handle over Deno.listenTls / Deno.connectTls conns needs no tls option", async () => {
  const { client, server } = await nativeTlsPair();
  client.pushWrite("hello\n");
  assert.equal(await server.read("line"), "hello");
  server.pushWrite("netstring");
  server.pushWrite("netstring", "payload");
  assert.equal(await client.read("chunk", 9).then((b) => new TextDecoder().decode(b)), "netstring");
  assert.deepEqual(await client.read("netstring"), new TextEncoder().encode("payload"));
  client.destroy();
  server.destroy();
  await Promise.all([client.closed, server.closed]);
});

Deno.test("tls options: mutual TLS, a client certificate is required and verified", async () => {
  const p = await handlePair(
    { tls: "connect", tlsOptions: { ...CLIENT, cert: CERT, key: KEY } },
    { tls: "accept", tlsOptions: { ...SERVER, caCerts: [CA], requireClientCert: true } },
  );
  p.client.pushWrite("authenticated\n");
  assert.equal(await p.server.read("line"), "authenticated");
  await p.close();

  const q = await handlePair(
    { tls: "connect", tlsOptions: CLIENT, onError: () => {} },
    { tls: "accept", tlsOptions: { ...SERVER, caCerts: [CA], requireClientCert: true } },
  );
  const failed = deferred<HandleError>();
  q.server.onError = (_h, e) => failed.resolve(e);
  q.server.pushRead("line", () => {});
  q.client.pushWrite("anonymous\n");
  const err = await failed.promise;
  assert.equal(err.code, "EPROTO");
  assert.equal(err.fatal, true);
  await q.close();
});

Deno.test("tls options: requireClientCert refuses a client certificate from an untrusted CA", async () => {
  const p = await handlePair(
    { tls: "connect", tlsOptions: { ...CLIENT, cert: CERT, key: KEY }, onError: () => {} },
    { tls: "accept", tlsOptions: { ...SERVER, caCerts: [OTHER_CA], requireClientCert: true } },
  );
  const failed = deferred<HandleError>();
  const lines: string[] = [];
  p.server.onError = (_h, e) => failed.resolve(e);
  p.server.pushRead("line", (_h, line) => lines.push(line));
  p.client.pushWrite("accepted?\n");
  const err = await failed.promise;
  assert.equal(err.code, "EPROTO");
  assert.match(err.message, /trusted CA/);
  assert.deepEqual(lines, []);
  await p.close();
});

Deno.test("tls options: ALPN picks the server's protocol among the client's", async () => {
  const started = deferred();
  const p = await handlePair(
    { tls: "connect", tlsOptions: { ...CLIENT, alpnProtocols: ["h2", "smtp"] } },
    {
      tls: "accept",
      tlsOptions: { ...SERVER, alpnProtocols: ["smtp"] },
      onStarttls: () => started.resolve(),
    },
  );
  p.client.pushWrite("x\n");
  assert.equal(await p.server.read("line"), "x");
  await started.promise;
  assert.equal(p.server.alpnProtocol, "smtp");
  assert.equal(p.client.alpnProtocol, "smtp");
  await p.close();
});

Deno.test("tls options: handles inherit defaultTlsOptions, their own options win", async () => {
  defaultTlsOptions.caCerts = [CA];
  defaultTlsOptions.hostname = "wrong.example";
  try {
    const p = await handlePair(
      { tls: "connect", tlsOptions: { hostname: "localhost" } },
      { tls: "accept", tlsOptions: SERVER },
    );
    p.client.pushWrite("inherited\n");
    assert.equal(await p.server.read("line"), "inherited");
    await p.close();
  } finally {
    delete defaultTlsOptions.caCerts;
    delete defaultTlsOptions.hostname;
  }
});

Deno.test("tls options: starttls after destroy throws EPIPE", async () => {
  const p = await handlePair();
  p.client.destroy();
  assert.throws(
    () => p.client.starttls("connect", CLIENT),
    (e) => e instanceof HandleError && e.code === "EPIPE",
  );
  await p.close();
});

Deno.test('tls options: Handle.connect with tls: "connect" queues a write before the connection', async () => {
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: CERT, key: KEY });
  const client = Handle.connect({ hostname: "127.0.0.1", port: listener.addr.port }, {
    tls: "connect",
    tlsOptions: { ...CLIENT, hostname: "localhost" },
    noDelay: true,
  });
  client.pushWrite("queued before connecting\n");
  const server = new Handle(await listener.accept());
  listener.close();
  assert.equal(await server.read("line"), "queued before connecting");
  server.pushWrite("reply\n");
  assert.equal(await client.read("line"), "reply");
  assert.equal(client.tls, true);
  client.destroy();
  server.destroy();
  await Promise.all([client.closed, server.closed]);
});

Deno.test("tls options: a handle over a Deno.TlsConn reports tls and refuses starttls", async () => {
  const { client, server } = await nativeTlsPair();
  assert.equal(client.tls, true);
  assert.throws(() => client.starttls("connect", CLIENT), /already active/);
  client.stoptls(); // nothing to do: the conn speaks TLS
  client.pushWrite("still tls\n");
  assert.equal(await server.read("line"), "still tls");
  client.destroy();
  server.destroy();
  await Promise.all([client.closed, server.closed]);
});

Deno.test("tls options: Handle.connect verifies the host it connects to unless a name is given", async () => {
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: CERT, key: KEY });
  const served = (async () => {
    for (let i = 0; i < 2; i++) {
      const h = new Handle(await listener.accept());
      h.pushWrite(`${await h.read("line")}\n`);
      await h.drain();
      h.destroy();
    }
  })();
  const { port } = listener.addr;
  // The certificate names localhost and 127.0.0.1: the IP is what is verified here.
  const byIp = Handle.connect({ hostname: "127.0.0.1", port }, {
    tls: "connect",
    tlsOptions: { caCerts: [CA] },
  });
  assert.equal(byIp.tlsOptions?.hostname, "127.0.0.1");
  byIp.pushWrite("by ip\n");
  assert.equal(await byIp.read("line"), "by ip");
  const named = Handle.connect({ hostname: "127.0.0.1", port }, {
    tls: "connect",
    tlsOptions: { caCerts: [CA], peername: "localhost" },
  });
  assert.equal(named.tlsOptions?.hostname, undefined);
  named.pushWrite("named\n");
  assert.equal(await named.read("line"), "named");
  byIp.destroy();
  named.destroy();
  await served;
  listener.close();
});
