/**
 * AnyEvent::Handle's call forms that a line-by-line port uses: regex with positional reject
 * and skip, tls_autostart with the mode last and no callback, and start_read on a handle with
 * nothing queued.
 */
import assert from "node:assert/strict";
import { Handle, ReadBuffer, regexDecoder } from "../mod.ts";
import { pair, writeAll } from "./_net.ts";
import { CLIENT, SERVER } from "./_tls.ts";

const enc = new TextEncoder();

Deno.test("regex: positional reject fails the read with EBADMSG, as push_read regex => $a, $r", async () => {
  const p = await pair({ onError: () => {} });
  const failed = new Promise<unknown>((resolve) => {
    p.h.onError = (_h, err) => resolve(err);
    p.h.pushRead("regex", /END\n/, /BAD/, () => assert.fail("accepted"));
  });
  await writeAll(p.peer, "xx BAD yy\n");
  const err = await failed as { code: string; fatal: boolean };
  assert.equal(err.code, "EBADMSG");
  assert.equal(err.fatal, true);
  await p.close();
});

Deno.test("regex: positional forms decode the same as the options form", () => {
  const input = enc.encode("aaa\nbbb\nEND\nrest");
  const decode = (d: ReturnType<typeof regexDecoder>) => {
    const buf = new ReadBuffer();
    buf.append(input);
    const value = d.decode(buf) as readonly [string, RegExpExecArray];
    return [value[0], buf.text()];
  };
  const expected = decode(regexDecoder(/END\n/, { reject: /BAD/, skip: /^[^E]*/ }));
  assert.deepEqual(decode(regexDecoder(/END\n/, /BAD/, /^[^E]*/)), expected);
  assert.deepEqual(decode(regexDecoder(/END\n/, undefined, /^[^E]*/)), expected);
  assert.deepEqual(decode(regexDecoder(/END\n/, /BAD/, undefined, { maxLength: 100 })), expected);
  assert.deepEqual(expected, ["aaa\nbbb\nEND\n", "rest"]);
  assert.throws(() => regexDecoder(/a/, /b/, /c/, /d/ as never), TypeError);
  assert.throws(() => regexDecoder(/a/, "b" as never), TypeError);
});

Deno.test("regex: pushRead takes accept, reject, skip and the callback positionally", async () => {
  const p = await pair();
  const data = new Promise<string>((resolve) => {
    p.h.pushRead("regex", /\r\n\r\n/, /^[^\r]*\0/, /^(?:[^\r]|\r[^\n])*/, (_h, d) => resolve(d));
  });
  await writeAll(p.peer, "GET / HTTP/1.0\r\nA: b\r\n\r\nbody");
  assert.equal(await data, "GET / HTTP/1.0\r\nA: b\r\n\r\n");
  assert.equal(p.h.rbuf.text(), "body");
  await p.close();
});

Deno.test('tls_autostart: AnyEvent\'s form, options then "accept" and no callback', async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const serve = async () => {
    const h = new Handle(await listener.accept(), { onError: () => {} });
    h.pushRead("tls_autostart", SERVER, "accept");
    const line = await h.read("line");
    h.pushWrite(`${h.tls ? "tls" : "plain"}:${line}\n`);
    await h.drain();
    h.destroy();
  };
  // A TLS client gets TLS.
  let served = serve();
  const tlsClient = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }), {
    tls: "connect",
    tlsOptions: CLIENT,
  });
  tlsClient.pushWrite("hi\n");
  assert.equal(await tlsClient.read("line"), "tls:hi");
  await served;
  tlsClient.destroy();
  await tlsClient.closed;
  // A plaintext client falls through; the mode alone uses the handle's tlsOptions.
  served = (async () => {
    const h = new Handle(await listener.accept(), { tlsOptions: SERVER, onError: () => {} });
    h.pushRead("tls_autostart", "accept");
    const line = await h.read("line");
    h.pushWrite(`${h.tls ? "tls" : "plain"}:${line}\n`);
    await h.drain();
    h.destroy();
  })();
  const plain = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }));
  plain.pushWrite("hey\n");
  assert.equal(await plain.read("line"), "plain:hey");
  await served;
  plain.destroy();
  await plain.closed;
  listener.close();
});

Deno.test('tls_autostart: a mode other than "accept" is a TypeError', async () => {
  const p = await pair();
  assert.throws(() => p.h.pushRead("tls_autostart", "connect" as never), TypeError);
  assert.throws(() => p.h.pushRead("tls_autostart", SERVER, "connect" as never), TypeError);
  await p.close();
});

Deno.test("startRead: with nothing queued and no onEof, the peer closing is a fatal EPIPE", async () => {
  const p = await pair();
  p.h.startRead(); // nothing queued, no onRead, no onEof: it reads all the same
  p.peer.close();
  await assert.rejects(p.h.closed, { code: "EPIPE" });
  await p.close();
});
