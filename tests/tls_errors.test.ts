import assert from "node:assert/strict";
import { Handle, HandleError } from "../mod.ts";
import { deferred, writeAll } from "./_net.ts";
import { CA, CLIENT, handlePair, OTHER_CA, SERVER } from "./_tls.ts";

/** The first error each side reports. */
function errors(p: { client: Handle; server: Handle }) {
  const client = deferred<HandleError>();
  const server = deferred<HandleError>();
  p.client.onError = (_h, e) => client.resolve(e);
  p.server.onError = (_h, e) => server.resolve(e);
  return { client: client.promise, server: server.promise };
}

/** A Handle TLS server (reporting its first error) and the raw TCP client connected to it. */
async function tlsServerAndRawClient() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const failed = deferred<HandleError>();
  const server = new Handle(await accepted, {
    tls: "accept",
    tlsOptions: SERVER,
    onError: (_h, e) => failed.resolve(e),
  });
  listener.close();
  return { conn, server, failed };
}

Deno.test("tls errors: a server certificate from an unknown CA is a fatal EPROTO naming it", async () => {
  const p = await handlePair();
  const e = errors(p);
  p.server.starttls("accept", SERVER);
  p.client.starttls("connect", { caCerts: [OTHER_CA], hostname: "localhost" });
  const err = await e.client;
  assert.equal(err.code, "EPROTO");
  assert.equal(err.fatal, true);
  assert.match(err.message, /certificate|issuer/i);
  assert.equal(p.client.destroyed, true);
  await p.close();
});

Deno.test("tls errors: a hostname the certificate does not name is a fatal EPROTO", async () => {
  const p = await handlePair();
  const e = errors(p);
  p.server.starttls("accept", SERVER);
  p.client.starttls("connect", { caCerts: [CA], hostname: "mail.example.org" });
  const err = await e.client;
  assert.equal(err.code, "EPROTO");
  assert.match(err.message, /mail\.example\.org|altnames|hostname|name/i);
  await p.close();
});

Deno.test("tls errors: unsafelyDisableHostnameVerification accepts another name, still checks the CA", async () => {
  const p = await handlePair();
  p.server.starttls("accept", SERVER);
  p.client.starttls("connect", {
    caCerts: [CA],
    hostname: "mail.example.org",
    unsafelyDisableHostnameVerification: true,
  });
  p.client.pushWrite("over tls\n");
  assert.equal(await p.server.read("line"), "over tls");
  await p.close();
});

Deno.test("tls errors: plaintext sent to a TLS server is a fatal EPROTO there", async () => {
  const { conn, server, failed } = await tlsServerAndRawClient();
  const lines: string[] = [];
  server.pushRead("line", (_h, line) => lines.push(line));
  await writeAll(conn, "GET / HTTP/1.0\r\n\r\n");
  const err = await failed.promise;
  assert.equal(err.code, "EPROTO");
  assert.deepEqual(lines, []);
  conn.close();
  await server.closed.catch(() => {});
});

Deno.test("tls errors: the peer closing during the handshake is a fatal EPROTO, pending reads reject", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const peer = await accepted;
  listener.close();
  const client = new Handle(conn, { tls: "connect", tlsOptions: CLIENT });
  const read = client.read("line");
  const hello = new Uint8Array(64);
  assert.ok((await peer.read(hello)) ?? 0 > 0, "the ClientHello arrives");
  peer.close();
  await assert.rejects(read, (e) => e instanceof HandleError && e.code === "EPROTO" && e.fatal);
  await assert.rejects(client.closed, (e) => e instanceof HandleError && e.code === "EPROTO");
});

Deno.test("tls errors: onStarttls gets the failure instead of onError, then the handle is destroyed", async () => {
  const p = await handlePair();
  const result = deferred<[boolean, HandleError | undefined]>();
  let onErrorCalls = 0;
  p.client.onError = () => onErrorCalls++;
  p.server.onError = () => {};
  p.client.onStarttls = (_h, ok, err) => result.resolve([ok, err]);
  p.server.starttls("accept", SERVER);
  p.client.starttls("connect", { caCerts: [OTHER_CA] });
  const [ok, err] = await result.promise;
  assert.equal(ok, false);
  assert.equal(err?.code, "EPROTO");
  assert.equal(onErrorCalls, 0);
  await assert.rejects(p.client.closed, (e) => e === err);
  assert.equal(p.client.destroyed, true);
  await p.close();
});

Deno.test("tls errors: destroy() during the handshake leaks nothing and rejects reads with ECANCELED", async () => {
  const p = await handlePair();
  p.server.onError = () => {};
  p.server.starttls("accept", SERVER);
  p.client.starttls("connect", CLIENT);
  const read = p.client.read("line");
  p.client.destroy();
  await assert.rejects(read, (e) => e instanceof HandleError && e.code === "ECANCELED");
  await p.client.closed;
  await p.close();
});

Deno.test("tls errors: a handshake that never completes is cut off by timeout", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const silent = await accepted; // never answers the ClientHello
  listener.close();
  const timedOut = deferred();
  const client = new Handle(conn, {
    tls: "connect",
    tlsOptions: CLIENT,
    timeout: 0.1,
    onTimeout: (h) => {
      timedOut.resolve();
      h.destroy();
    },
  });
  const read = client.read("line");
  await timedOut.promise;
  await assert.rejects(read, (e) => e instanceof HandleError && e.code === "ECANCELED");
  await client.closed;
  silent.close();
});

Deno.test("tls errors: a client closing mid-handshake fails the server's handshake too", async () => {
  const { conn, server, failed } = await tlsServerAndRawClient();
  await writeAll(conn, new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x40, 0x01])); // a ClientHello's start
  conn.close();
  const err = await failed.promise;
  assert.equal(err.code, "EPROTO");
  assert.equal(err.fatal, true);
  await server.closed.catch(() => {});
});

Deno.test("tls errors: a server whose client rejects its certificate learns of it", async () => {
  const p = await handlePair();
  const e = errors(p);
  p.server.starttls("accept", SERVER);
  p.client.starttls("connect", { caCerts: [OTHER_CA] });
  await e.client;
  const err = await e.server;
  assert.equal(err.fatal, true);
  assert.ok(["EPROTO", "ECONNRESET", "EPIPE"].includes(err.code), err.code);
  await p.close();
});

Deno.test('tls errors: onStarttls gets one "TLS handshake failed: " and the problem, the same error onError gets without it', async () => {
  for (const withCallback of [true, false]) {
    const p = await handlePair();
    const seen = deferred<HandleError>();
    p.server.onError = () => {};
    if (withCallback) p.client.onStarttls = (_h, ok, err) => ok || seen.resolve(err!);
    else p.client.onError = (_h, err) => seen.resolve(err);
    p.server.starttls("accept", SERVER);
    p.client.starttls("connect", { caCerts: [OTHER_CA] });
    const err = await seen.promise;
    assert.equal(err.code, "EPROTO");
    assert.equal(
      err.message,
      "TLS handshake failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate",
    );
    await p.close();
  }
});
