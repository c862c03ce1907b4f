import assert from "node:assert/strict";
import { Handle } from "../mod.ts";

const MIB = 1024 * 1024;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

Deno.test("line: a 16 MiB line arriving in 4 KiB reads is scanned once", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const peer = await accepted;
  // readSize = maxReadSize = 4 KiB: every read brings at most one 4 KiB piece.
  const h = new Handle(conn, { readSize: 4096, maxReadSize: 4096 });
  const length = 16 * MIB;
  const piece = new Uint8Array(4096).fill(0x61);
  const sending = (async () => {
    for (let sent = 0; sent < length; sent += piece.length) await writeAll(peer, piece);
    await writeAll(peer, new TextEncoder().encode("\r\nnext\n"));
  })();

  const line = await h.read("line", { maxLength: Infinity });
  await sending;
  assert.equal(line.length, length);
  assert.ok(/^a+$/.test(line));
  // One pass: every byte of the line is examined about once, not once per read.
  assert.ok(
    h.rbuf.bytesScanned <= length + 2 * 4096,
    `scanned ${h.rbuf.bytesScanned} bytes for a ${length}-byte line`,
  );
  assert.equal(await h.read("line"), "next");
  // The 16 MiB backing array is given back once the buffer empties.
  assert.ok(h.rbuf.capacity <= 256 * 1024, `capacity ${h.rbuf.capacity}`);

  h.destroy();
  await h.closed;
  peer.close();
  listener.close();
});

Deno.test("line: a line over maxLength fails with EMSGSIZE before the rest is buffered", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const peer = await accepted;
  const h = new Handle(conn, { readSize: 4096, maxReadSize: 4096 });
  const sending = writeAll(peer, new Uint8Array(64 * 1024).fill(0x62)).catch(() => {});
  await assert.rejects(h.read("line", { maxLength: 1000 }), (e: Error & { code?: string }) => {
    assert.equal(e.code, "EMSGSIZE");
    return true;
  });
  assert.ok(h.destroyed);
  // Failing as soon as certain: one 4 KiB read is enough to know, far before 64 KiB arrive.
  assert.ok(h.rbuf.length <= 4096, `buffered ${h.rbuf.length}`);
  await assert.rejects(h.closed);
  peer.close();
  await sending;
  listener.close();
});
