import assert from "node:assert/strict";
import { Handle, type HandleError } from "../mod.ts";
import { deferred } from "./_net.ts";
import { CLIENT, handlePair, SERVER } from "./_tls.ts";

Deno.test("starttls: an SMTP-style upgrade from inside read callbacks on both sides", async () => {
  const p = await handlePair();
  const { client, server } = p;
  const serverStarted = deferred<boolean>();
  const clientStarted = deferred<boolean>();
  server.onStarttls = (_h, ok) => serverStarted.resolve(ok);
  client.onStarttls = (_h, ok) => clientStarted.resolve(ok);

  server.pushRead("line", (h, line) => {
    assert.equal(line, "STARTTLS");
    h.pushWrite("220 Go ahead\r\n"); // queued before starttls: leaves in plaintext
    h.starttls("accept", SERVER);
    h.pushRead("line", (h, line) => h.pushWrite(`250 got ${line}\r\n`));
  });
  client.pushWrite("STARTTLS\r\n");
  const reply = await client.read("line");
  assert.equal(reply, "220 Go ahead");
  client.starttls("connect", CLIENT);
  client.pushWrite("MAIL FROM:<a@b>\r\n");
  assert.equal(await client.read("line"), "250 got MAIL FROM:<a@b>");
  assert.deepEqual(await Promise.all([serverStarted.promise, clientStarted.promise]), [true, true]);
  assert.equal(client.tls, true);
  assert.equal(server.tls, true);
  await p.close();
});

Deno.test("starttls: TLS from the first byte with the tls option, lines both ways", async () => {
  const p = await handlePair(
    { tls: "connect", tlsOptions: CLIENT },
    { tls: "accept", tlsOptions: SERVER },
  );
  p.client.pushWrite("ping\n");
  assert.equal(await p.server.read("line"), "ping");
  p.server.pushWrite("pong\n");
  assert.equal(await p.client.read("line"), "pong");
  await p.close();
});

Deno.test("starttls: large transfers keep every byte in order", async () => {
  const p = await handlePair(
    { tls: "connect", tlsOptions: CLIENT },
    { tls: "accept", tlsOptions: SERVER },
  );
  const data = new Uint8Array(3 * 1024 * 1024 + 7);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
  p.client.pushWrite(data);
  const got = await p.server.read("chunk", data.length);
  assert.deepEqual(got, data);
  await p.close();
});

Deno.test("starttls: pipelined plaintext after STARTTLS never reaches the reader as TLS data", async () => {
  const p = await handlePair();
  const lines: string[] = [];
  const failed = deferred<HandleError>();
  p.server.onError = (_h, e) => failed.resolve(e);
  p.server.pushRead("line", (h, line) => {
    assert.equal(line, "STARTTLS");
    h.pushWrite("220 Go ahead\r\n");
    h.starttls("accept", SERVER);
    h.pushRead("line", (_h, line) => lines.push(line));
  });
  // One write: the command and injected plaintext. Then a real handshake.
  p.client.pushWrite("STARTTLS\r\nINJECTED\r\n");
  assert.equal(await p.client.read("line"), "220 Go ahead");
  p.client.onError = () => {};
  p.client.starttls("connect", CLIENT);
  const err = await failed.promise;
  assert.equal(err.code, "EPROTO");
  assert.equal(err.fatal, true);
  assert.deepEqual(lines, []);
  assert.equal(p.server.destroyed, true);
  await p.close();
});

Deno.test("starttls: twice is a TypeError, a bad mode is a TypeError, accept needs a certificate", async () => {
  const p = await handlePair();
  p.client.onError = () => {};
  assert.throws(() => p.server.starttls("accept"), TypeError);
  assert.throws(() => p.server.starttls("listen" as never, SERVER), TypeError);
  p.client.starttls("connect", CLIENT);
  assert.throws(() => p.client.starttls("connect", CLIENT), /already active/);
  await p.close();
});

Deno.test("starttls: called while a read is in flight on the conn, the peer's handshake reaches TLS", async () => {
  const p = await handlePair();
  const lines: string[] = [];
  const got = deferred();
  // The server has a read in flight (a queued line) when it upgrades, from outside any callback.
  p.server.pushRead("line", (_h, line) => {
    lines.push(line);
    got.resolve();
  });
  await new Promise((r) => setTimeout(r, 10));
  p.server.starttls("accept", SERVER);
  p.client.starttls("connect", CLIENT);
  p.client.pushWrite("first over tls\n");
  await got.promise;
  assert.deepEqual(lines, ["first over tls"]);
  await p.close();
});

Deno.test("starttls: a ClientHello sent right behind STARTTLS, without waiting for a reply, is not lost", async () => {
  const p = await handlePair();
  const upgraded = deferred<string>();
  p.server.pushRead("line", (h, line) => {
    assert.equal(line, "STARTTLS");
    h.starttls("accept", SERVER);
    h.pushRead("line", (_h, line) => upgraded.resolve(line));
  });
  // The client does not wait for a reply: its ClientHello follows the command at once, so the
  // server finds it already buffered in h.rbuf when it calls starttls.
  p.client.pushWrite("STARTTLS\n");
  p.client.starttls("connect", CLIENT);
  p.client.pushWrite("pipelined\n");
  assert.equal(await upgraded.promise, "pipelined");
  await p.close();
});

Deno.test("starttls: TLS bytes arriving a few at a time (a relay forwarding 7-byte pieces) decode the same", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const relayListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serverConn = Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = new Handle(await listener.accept(), { tls: "accept", tlsOptions: SERVER });
  const upstream = await serverConn;
  listener.close();
  // The relay: client -> server in 7-byte writes, one event-loop turn apart; server -> client as is.
  const relay = (async () => {
    const down = await relayListener.accept();
    relayListener.close();
    const slow = (async () => {
      const buf = new Uint8Array(4096);
      for (let n; (n = await down.read(buf)) !== null;) {
        for (let at = 0; at < n; at += 7) {
          await upstream.write(buf.slice(at, Math.min(n, at + 7)));
          await new Promise((r) => setTimeout(r, 0));
        }
      }
      await upstream.closeWrite();
    })();
    const fast = (async () => {
      const buf = new Uint8Array(65536);
      for (let n; (n = await upstream.read(buf).catch(() => null)) !== null;) {
        await down.write(buf.subarray(0, n));
      }
    })();
    await slow;
    await fast;
    down.close();
    upstream.close();
  })();
  const client = new Handle(
    await Deno.connect({ hostname: "127.0.0.1", port: relayListener.addr.port }),
    { tls: "connect", tlsOptions: CLIENT },
  );
  client.pushWrite("through the relay\n");
  assert.equal(await server.read("line"), "through the relay");
  server.pushWrite("and back\n");
  assert.equal(await client.read("line"), "and back");
  client.destroy();
  server.destroy();
  await Promise.all([client.closed, server.closed, relay]);
});
