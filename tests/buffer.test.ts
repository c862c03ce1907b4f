import assert from "node:assert/strict";
import { ReadBuffer } from "../mod.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A small deterministic pseudo-random generator (LCG). */
function lcg(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n) => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x % n;
  };
}

Deno.test("buffer: append, at, view, text, consume and take", () => {
  const buf = new ReadBuffer();
  buf.append(utf8("hello world"));
  assert.equal(buf.length, 11);
  assert.equal(buf.at(0), 0x68);
  assert.equal(buf.at(11), undefined);
  assert.equal(buf.at(-1), undefined);
  assert.equal(buf.text(6), "world");
  assert.deepEqual(buf.view(0, 5), utf8("hello"));
  buf.consume(6);
  assert.equal(buf.text(), "world");
  assert.equal(buf.consumedTotal, 6);
  const taken = buf.take(3);
  assert.deepEqual(taken, utf8("wor"));
  assert.equal(buf.text(), "ld");
  assert.throws(() => buf.consume(3), RangeError);
  assert.throws(() => buf.take(-1), RangeError);
  assert.throws(() => buf.consume(0.5), RangeError);
});

Deno.test("buffer: take returns a copy that later changes to the buffer do not touch", () => {
  const buf = new ReadBuffer();
  buf.append(utf8("abcdef"));
  const small = buf.take(2);
  buf.append(new Uint8Array(100_000).fill(0x7a));
  const big = buf.take(50_000);
  buf.consume(buf.length);
  buf.append(utf8("QQQQQQ"));
  assert.deepEqual(small, utf8("ab"));
  assert.equal(big[0], 0x63);
  assert.equal(big[49_999], 0x7a);
});

Deno.test("buffer: the first take of a process may take nothing", async () => {
  // A fresh module instance: its slabs are not made yet.
  const fresh = await import(`../base/buffer.ts?first-take=${Date.now()}`);
  const buf = new fresh.ReadBuffer();
  assert.deepEqual(buf.take(0), new Uint8Array(0));
  assert.deepEqual(buf.takeAll(), new Uint8Array(0));
});

Deno.test("buffer: takes of every size, pooled or not, stay apart and keep their bytes", () => {
  const buf = new ReadBuffer();
  const sizes = [0, 1, 16, 32, 33, 1024, 1025, 4096, 4097, 16_383, 16_384, 70_000];
  const taken: Uint8Array[] = [];
  // Enough rounds that the pools' slabs fill up and are replaced.
  for (let round = 0; round < 80; round++) {
    for (const [i, n] of sizes.entries()) {
      buf.append(new Uint8Array(n + 3).fill((round * 31 + i) & 0xff));
      taken.push(buf.take(n));
      buf.consume(3);
    }
  }
  buf.append(new Uint8Array(100_000).fill(0xee)); // overwrites nothing handed out
  for (let round = 0, k = 0; round < 80; round++) {
    for (const [i, n] of sizes.entries()) {
      const got = taken[k++];
      assert.equal(got.length, n);
      assert.ok(got.every((b) => b === ((round * 31 + i) & 0xff)), `round ${round}, size ${n}`);
    }
  }
});

Deno.test("buffer: indexOf searches only the live bytes in [from, to)", () => {
  const buf = new ReadBuffer();
  buf.append(utf8("xx\nab\ncd"));
  buf.consume(3); // "ab\ncd"; a stale "\n" remains in the backing array before the start
  assert.equal(buf.indexOf(0x0a), 2);
  assert.equal(buf.indexOf(0x0a, 3), -1);
  assert.equal(buf.indexOf(0x0a, 0, 2), -1);
  assert.equal(buf.indexOf(0x0a, -5), 2);
  assert.equal(buf.indexOf(utf8("\ncd")), 2);
  assert.equal(buf.indexOf(utf8("cdx")), -1);
  assert.equal(buf.indexOf(utf8("b\nc"), 0, 3), -1, "a match must end before `to`");
  assert.equal(buf.lastIndexOf(0x0a), 2);
  assert.equal(buf.lastIndexOf(0x61, 1), -1);
  buf.consume(buf.length);
  buf.append(utf8("zz"));
  // Bytes past the live end (left over from before) are never found.
  assert.equal(buf.indexOf(0x63), -1);
  assert.equal(buf.indexOf(0x0a), -1);
});

Deno.test("buffer: reserve and commit read in place, and survive changes meanwhile", () => {
  const buf = new ReadBuffer();
  const region = buf.reserve(8);
  region.set(utf8("abcd"));
  buf.commit(region, 4);
  assert.equal(buf.text(), "abcd");
  // A read in flight while the buffer empties (which may reset offsets or give back memory).
  const pending = buf.reserve(1 << 20);
  buf.consume(4);
  pending.set(utf8("later"));
  buf.commit(pending, 5);
  assert.equal(buf.text(), "later");
  buf.commit(buf.reserve(4), 0);
  assert.equal(buf.length, 5);
});

Deno.test("buffer: many random operations keep the same bytes as a plain array", () => {
  const rand = lcg(42);
  const buf = new ReadBuffer();
  const model: number[] = [];
  let total = 0;
  for (let step = 0; step < 5000; step++) {
    const op = rand(4);
    if (op === 0 || op === 1) {
      const n = rand(op === 0 ? 50 : 20_000);
      const bytes = Uint8Array.from({ length: n }, () => rand(256));
      if (op === 0) buf.append(bytes);
      else {
        const region = buf.reserve(n + rand(100));
        region.set(bytes);
        buf.commit(region, n);
      }
      model.push(...bytes);
    } else if (op === 2) {
      const n = rand(model.length + 1);
      buf.consume(n);
      model.splice(0, n);
      total += n;
    } else {
      const n = rand(Math.min(model.length, 3000) + 1);
      assert.deepEqual(Array.from(buf.take(n)), model.splice(0, n));
      total += n;
    }
    assert.equal(buf.length, model.length);
    assert.equal(buf.consumedTotal, total);
    if (step % 250 === 0) assert.deepEqual(Array.from(buf.bytes()), model);
  }
});

Deno.test("buffer: a large buffer gives its memory back once consumed", () => {
  const buf = new ReadBuffer();
  buf.append(new Uint8Array(1 << 20));
  assert.ok(buf.capacity >= 1 << 20);
  buf.consume(1 << 20);
  assert.ok(buf.capacity <= 256 * 1024, `capacity ${buf.capacity}`);
  // Nearly empty: the next reservation moves the few live bytes into a small array.
  buf.append(new Uint8Array(1 << 20));
  buf.consume((1 << 20) - 10);
  buf.reserve(4096);
  assert.ok(buf.capacity <= 64 * 1024, `capacity ${buf.capacity}`);
  assert.equal(buf.length, 10);
});

Deno.test("buffer: takeAll empties the buffer and starts a new generation", () => {
  const buf = new ReadBuffer();
  buf.append(utf8("tls!"));
  const g = buf.generation;
  assert.deepEqual(buf.takeAll(), utf8("tls!"));
  assert.equal(buf.length, 0);
  assert.equal(buf.generation, g + 1);
});

Deno.test("buffer: bytesScanned shows a resumed search is linear", () => {
  const buf = new ReadBuffer();
  let from = 0;
  for (let i = 0; i < 256; i++) {
    buf.append(new Uint8Array(4096).fill(0x61));
    assert.equal(buf.indexOf(0x0a, from), -1);
    from = buf.length;
  }
  assert.equal(buf.bytesScanned, 256 * 4096);
});

Deno.test("buffer: text decodes UTF-8, replaces invalid bytes and keeps a BOM", () => {
  const buf = new ReadBuffer();
  buf.append(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8("aé€😀"), 0xff, 0x61]));
  assert.equal(buf.text(), "\ufeffaé€😀\ufffda");
  assert.equal(buf.text(3, 4), "a");
  assert.equal(buf.text(4, 5), "\ufffd", "half of é");
  assert.equal(buf.text(5, 5), "");
  const ascii = new ReadBuffer();
  ascii.append(utf8("plain ascii text of some length, longer than the fast path"));
  assert.equal(ascii.text(0, 5), "plain");
  assert.equal(ascii.text(), "plain ascii text of some length, longer than the fast path");
});
