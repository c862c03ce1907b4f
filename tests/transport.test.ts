import assert from "node:assert/strict";
import { Handle, toTransport } from "../mod.ts";
import { readAll, spawnEchoChild } from "./_net.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("transport: a Unix socket carries mixed reads and writes both ways", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/handle.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const server = (async () => {
    const h = new Handle(await listener.accept());
    const name = await h.read("line");
    const payload = await h.read("chunk", 4);
    h.pushWrite(`hello ${name}, got ${text(payload)}\n`);
    h.pushWrite(new Uint8Array([0, 1, 2]));
    await h.drain();
    h.destroy();
    await h.closed;
  })();
  const h = new Handle(await Deno.connect({ transport: "unix", path }));
  h.pushWrite("unix\nDATA");
  assert.equal(await h.read("line"), "hello unix, got DATA");
  assert.deepEqual(await h.read("chunk", 3), new Uint8Array([0, 1, 2]));
  await server;
  h.destroy();
  await h.closed;
  listener.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("transport: stdin and stdout of a child process", async () => {
  const child = spawnEchoChild();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("one\ntwo\r\nthr"));
  await writer.write(new TextEncoder().encode("ee\n"));
  await writer.close();
  const chunks: Uint8Array[] = [];
  for await (const chunk of child.stdout) chunks.push(chunk);
  const out = text(new Uint8Array(chunks.flatMap((c) => Array.from(c))));
  assert.equal(out, "echo: one\necho: two\necho: three\ndone\n");
  assert.equal((await child.status).code, 0);
});

Deno.test("transport: a reader/writer pair closes both halves on destroy", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const peer = await accepted;
  const h = new Handle({ reader: conn, writer: conn });
  h.pushWrite("pair\n");
  h.pushShutdown();
  assert.equal(text(await readAll(peer)), "pair\n");
  h.destroy();
  await h.closed;
  peer.close();
  listener.close();
});

Deno.test("transport: toTransport refuses what is not a connection", () => {
  assert.throws(() => toTransport({} as never), TypeError);
  assert.throws(() => toTransport(null as never), TypeError);
  assert.throws(() => new Handle(42 as never), TypeError);
});
