import assert from "node:assert/strict";
import { detectTls, Handle, NEED_MORE, ReadBuffer } from "../mod.ts";
import { deferred, writeAll } from "./_net.ts";
import { CA, CLIENT, SERVER } from "./_tls.ts";

function bufferOf(bytes: number[] | string): ReadBuffer {
  const buf = new ReadBuffer();
  buf.append(typeof bytes === "string" ? new TextEncoder().encode(bytes) : new Uint8Array(bytes));
  return buf;
}

Deno.test("tls_detect: TLS records, SSLv2 hellos, prefixes and plaintext", () => {
  const cases: [number[] | string, unknown][] = [
    [[], NEED_MORE],
    [[0x16], NEED_MORE],
    [[0x16, 0x03], NEED_MORE],
    [[0x16, 0x03, 0x01], NEED_MORE],
    [[0x16, 0x03, 0x01, 0x02], ["accept", 3, 1]],
    [[0x16, 0x03, 0x03, 0x40, 0x00], ["accept", 3, 3]],
    [[0x16, 0x04, 0x00, 0x00], ["accept", 4, 0]],
    [[0x16, 0x03, 0x01, 0x41], [null, undefined, undefined]], // record too long for a hello
    [[0x16, 0x02], [null, undefined, undefined]],
    [[0x80, 0x2e, 0x01, 0x03, 0x01, 0x00], ["accept", 3, 1]],
    [[0x80, 0x2e, 0x01, 0x03], NEED_MORE],
    [[0x80, 0x2e, 0x02], [null, undefined, undefined]],
    ["EHLO client\r\n", [null, undefined, undefined]],
    ["\x16", NEED_MORE],
  ];
  for (const [input, expected] of cases) {
    const buf = bufferOf(input);
    const before = buf.length;
    assert.deepEqual(detectTls(buf), expected, JSON.stringify(input));
    assert.equal(buf.length, before, "nothing consumed");
  }
});

/** A port that serves both plaintext and TLS, with tls_autostart. */
async function dualServer(conn: Deno.Conn): Promise<string> {
  const h = new Handle(conn, { onError: () => {} });
  const started = await h.read("tls_autostart", SERVER);
  const line = await h.read("line");
  h.pushWrite(`${started ? "tls" : "plain"}:${line}\n`);
  await h.drain();
  h.destroy();
  return `${started}:${line}`;
}

Deno.test("tls_autostart: a TLS client gets TLS, a plaintext client falls through", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  try {
    // TLS client.
    const served = listener.accept().then(dualServer);
    const tlsClient = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }), {
      tls: "connect",
      tlsOptions: CLIENT,
    });
    tlsClient.pushWrite("hello\n");
    assert.equal(await tlsClient.read("line"), "tls:hello");
    assert.equal(await served, "true:hello");
    tlsClient.destroy();
    await tlsClient.closed;
    // Plaintext client, its first line split over two writes.
    const served2 = listener.accept().then(dualServer);
    const plain = await Deno.connect({ hostname: "127.0.0.1", port });
    const h = new Handle(plain);
    await writeAll(plain, "he");
    await new Promise((r) => setTimeout(r, 20));
    h.pushWrite("llo\n");
    assert.equal(await h.read("line"), "plain:hello");
    assert.equal(await served2, "false:hello");
    h.destroy();
    await h.closed;
  } finally {
    listener.close();
  }
});

Deno.test("tls_detect: a Deno.connectTls client is detected with its record-layer version", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = Deno.connectTls({
    hostname: "localhost",
    port: listener.addr.port,
    caCerts: [CA],
  });
  const h = new Handle(await accepted);
  listener.close();
  const seen = deferred<unknown[]>();
  h.pushRead("tls_detect", (h, detect, major, minor) => {
    seen.resolve([detect, major, minor, h.rbuf.length > 5]);
    h.starttls("accept", SERVER);
  });
  assert.deepEqual(await seen.promise, ["accept", 3, 1, true]);
  const conn = await client;
  await conn.handshake();
  await writeAll(conn, "over tls\n");
  assert.equal(await h.read("line"), "over tls");
  conn.close();
  h.destroy();
  await h.closed;
});
