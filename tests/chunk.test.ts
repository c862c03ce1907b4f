import assert from "node:assert/strict";
import { chunk, chunkDecoder, Handle, NEED_MORE, ReadBuffer } from "../mod.ts";
import { run, sameEverySplit, utf8 } from "./_split.ts";
import { pair, tick, writeAll } from "./_net.ts";

Deno.test("chunk: exactly n bytes, however the input is split", () => {
  const out = sameEverySplit(() => chunkDecoder(3), utf8("abcdefgh"));
  assert.deepEqual(out.values, [utf8("abc"), utf8("def")]);
  assert.equal(out.left, 2);
});

Deno.test("chunk: length 0 delivers an empty array at once", () => {
  const buf = new ReadBuffer();
  assert.deepEqual(chunkDecoder(0).decode(buf), new Uint8Array());
});

Deno.test("chunk: waits for n bytes and consumes nothing meanwhile", () => {
  assert.deepEqual(run(() => chunkDecoder(5), [utf8("abcd")]), { values: [], left: 4 });
  const buf = new ReadBuffer();
  buf.append(utf8("ab"));
  assert.equal(chunkDecoder(3).decode(buf), NEED_MORE);
  assert.equal(buf.length, 2);
});

Deno.test("chunk: the bytes delivered are a copy the buffer never changes", () => {
  const buf = new ReadBuffer();
  buf.append(utf8("1234"));
  const got = chunkDecoder(4).decode(buf) as Uint8Array;
  buf.append(utf8("zzzzzzzz"));
  buf.consume(8);
  assert.deepEqual(got, utf8("1234"));
});

Deno.test("chunk: a negative or fractional length throws RangeError", () => {
  for (const n of [-1, 1.5, NaN, Infinity]) assert.throws(() => chunkDecoder(n), RangeError);
});

Deno.test("chunk: large chunks read straight into their own array keep every byte and what follows", async () => {
  const p = await pair();
  const big = (n: number, seed: number) =>
    Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
  const a = big(100_000, 1);
  const b = big(65_536, 2);
  const got: Uint8Array[] = [];
  const lines: string[] = [];
  const done = new Promise<void>((resolve) => {
    p.h.pushRead("line", (h, line) => {
      lines.push(line);
      h.pushRead("chunk", a.length, (_h, bytes) => got.push(bytes));
      h.pushRead("chunk", b.length, (_h, bytes) => got.push(bytes));
      h.pushRead("line", (_h, line) => {
        lines.push(line);
        resolve();
      });
    });
  });
  // The header and the first bytes of the chunk arrive together; the rest in odd pieces, and
  // the second chunk's start shares a write with the first one's end.
  const stream = new Uint8Array([
    ...new TextEncoder().encode("go\n"),
    ...a,
    ...b,
    ...new TextEncoder().encode("end\n"),
  ]);
  for (let at = 0; at < stream.length;) {
    const n = Math.min(stream.length - at, 7_777 + (at % 3) * 10_000);
    await writeAll(p.peer, stream.subarray(at, at + n));
    at += n;
  }
  await done;
  assert.deepEqual(lines, ["go", "end"]);
  assert.deepEqual(got[0], a);
  assert.deepEqual(got[1], b);
  await p.close();
});

Deno.test("chunk: a large chunk's last bytes are read into its array and no further", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const peer = await accepted;
  listener.close();
  const asked: number[] = [];
  const h = new Handle({
    read: (p) => (asked.push(p.length), conn.read(p)),
    write: (p) => conn.write(p),
    closeWrite: () => conn.closeWrite(),
    close: () => conn.close(),
  });
  const frame = Uint8Array.from({ length: 65_536 }, (_, i) => (i * 13) & 0xff);
  const got = h.read(chunk(frame.length));
  // All but the last 5,000 bytes, then (once they are surely read) the rest and one more frame.
  await writeAll(peer, frame.subarray(0, 60_536));
  while (h.rbuf.length < 60_536) await tick();
  await writeAll(peer, frame.subarray(60_536));
  await writeAll(peer, "tail");
  const bytes = await got;
  assert.deepEqual(bytes, frame);
  // Read straight into an array of the frame's size: handed over, not copied out.
  assert.equal(bytes.byteOffset, 0);
  assert.equal(bytes.buffer.byteLength, frame.length);
  // Every read asked for at most what the frame was missing: none ran into the next bytes.
  assert.ok(asked.every((n) => n <= frame.length), `reads asked for ${asked}`);
  assert.equal(asked.at(-1), 5_000);
  assert.equal(new TextDecoder().decode(await h.read(chunk(4))), "tail");
  h.destroy();
  peer.close();
  await h.closed.catch(() => {});
});
