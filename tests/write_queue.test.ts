/**
 * The write queue against a model: whatever mix of small and large, text and byte, pushed and
 * unshifted writes, with batches taken, written in part and released (so that open buffers
 * are filled again), the bytes come out in queue order and `pending` counts them.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { openBufferBytes, WriteQueue } from "../handle/write_queue.ts";

const enc = new TextEncoder();

type Op =
  | { kind: "text"; text: string }
  | { kind: "copy"; bytes: Uint8Array }
  | { kind: "own"; bytes: Uint8Array }
  | { kind: "unshift"; bytes: Uint8Array }
  | { kind: "write"; part: number }
  | { kind: "burst"; seed: number };

const size = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1000, max: 40_000 }));
const bytes = size.chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.integer({ min: 0, max: 255 }).map((seed) => ({ kind: "burst" as const, seed })),
    weight: 1,
  },
  {
    arbitrary: fc.string({ unit: "binary", maxLength: 80 }).map((text) => ({
      kind: "text" as const,
      text,
    })),
    weight: 4,
  },
  {
    arbitrary: fc.string({ unit: "grapheme", minLength: 6000, maxLength: 7000 }).map((text) => ({
      kind: "text" as const,
      text,
    })),
    weight: 1,
  },
  { arbitrary: bytes.map((b) => ({ kind: "copy" as const, bytes: b })), weight: 4 },
  { arbitrary: bytes.map((b) => ({ kind: "own" as const, bytes: b })), weight: 1 },
  { arbitrary: bytes.map((b) => ({ kind: "unshift" as const, bytes: b })), weight: 1 },
  {
    arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((part) => ({
      kind: "write" as const,
      part,
    })),
    weight: 3,
  },
);

/**
 * Runs the ops: "write" takes a batch (if none is in flight), writes a part of it, and when
 * the batch is done releases it. The model is the list of byte segments not yet handed to the
 * writer (unshift puts one first); each batch taken must be exactly the model's front bytes.
 */
function run(ops: Op[]): void {
  const wq = new WriteQueue();
  const queue: Uint8Array[] = [];
  let batch: { whole: Uint8Array; left: number } | undefined;
  const queuedBytes = () => queue.reduce((n, b) => n + b.length, 0);
  const takeFront = (n: number): number[] => {
    const front: number[] = [];
    while (n > 0) {
      const head = queue[0];
      const k = Math.min(n, head.length);
      front.push(...head.subarray(0, k));
      if (k === head.length) queue.shift();
      else queue[0] = head.subarray(k);
      n -= k;
    }
    return front;
  };
  const write = (part: number) => {
    if (batch === undefined) {
      const next = wq.takeBatch();
      if (next === undefined) return assert.equal(queuedBytes(), 0);
      assert.deepEqual([...next], takeFront(next.length));
      batch = { whole: next, left: next.length };
    }
    const n = Math.max(1, Math.floor(batch.left * part));
    wq.written(n);
    batch.left -= n;
    if (batch.left === 0) {
      wq.release(batch.whole);
      batch = undefined;
    }
  };
  for (const o of ops) {
    if (o.kind === "write") write(o.part);
    else if (o.kind === "burst") {
      // 90 KB of 30-byte writes: more than one open buffer, so a written one is filled again.
      for (let i = 0; i < 3000; i++) {
        const b = new Uint8Array(30).fill((o.seed + i) & 0xff);
        wq.pushCopy(b);
        queue.push(b);
        if (i % 700 === 0) write(0.5); // a batch in flight while more is pushed
        if (i % 700 === 350) write(1); // released with bytes queued: its buffer is kept
      }
    } else if (o.kind === "text") {
      wq.pushText(o.text);
      queue.push(enc.encode(o.text));
    } else if (o.kind === "copy") {
      wq.pushCopy(o.bytes);
      queue.push(o.bytes.slice());
      o.bytes.fill(0xee); // the caller may reuse its array at once
    } else if (o.kind === "own") {
      const mine = o.bytes.slice();
      wq.push(mine);
      queue.push(mine.slice());
    } else {
      wq.unshift(o.bytes.slice());
      queue.unshift(o.bytes);
    }
    // Text waits unencoded until a batch or an exact count needs it: the bound holds always,
    // the exact count is asked for only after writes, so runs of text stay joined between.
    const exact = queuedBytes() + (batch?.left ?? 0);
    assert.ok(wq.pendingAtMost >= exact);
    assert.ok(wq.pendingAtLeast <= exact);
    if (o.kind === "write") assert.equal(wq.pending, exact);
  }
  while (batch !== undefined || wq.queued > 0) write(1);
  assert.equal(queuedBytes(), 0);
  assert.equal(wq.pending, 0);
}

Deno.test("write queue: any mix of writes, partial writes and reused buffers keeps byte order", () => {
  fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => run(ops)), { numRuns: 300 });
});

Deno.test("write queue: a burst of small writes is one batch, and a lone one a small buffer", () => {
  const wq = new WriteQueue();
  wq.pushText("one\n");
  const lone = wq.takeBatch()!;
  assert.equal(new TextDecoder().decode(lone), "one\n");
  assert.ok(lone.buffer.byteLength <= 256, `a lone reply took ${lone.buffer.byteLength} bytes`);
  wq.written(lone.length);
  wq.release(lone);
  for (let i = 0; i < 1000; i++) wq.pushText(`line ${i}\n`);
  const burst = wq.takeBatch()!;
  assert.equal(burst.length, wq.pending);
  assert.equal(wq.takeBatch(), undefined);
  assert.ok(new TextDecoder().decode(burst).startsWith("line 0\nline 1\n"));
});

Deno.test("write queue: multi-byte text is encoded whole at every buffer boundary", () => {
  const wq = new WriteQueue();
  const text = "é€😀";
  let expected = "";
  for (let i = 0; i < 20_000; i++) {
    wq.pushText(text);
    expected += text;
  }
  const out: Uint8Array[] = [];
  for (let b; (b = wq.takeBatch()) !== undefined;) {
    out.push(b.slice());
    wq.written(b.length);
    wq.release(b);
  }
  assert.equal(new TextDecoder().decode(new Uint8Array(out.flatMap((b) => [...b]))), expected);
});

Deno.test("write queue: a stream of short ASCII strings leaves in full 63 KiB batches", () => {
  const wq = new WriteQueue();
  const line = "0123456789abcdefghijklmnopqrstu\n"; // 32 bytes
  for (let i = 0; i < 200 * 1024 / 32; i++) wq.pushText(line);
  const sizes: number[] = [];
  let all = "";
  for (let b; (b = wq.takeBatch()) !== undefined;) {
    sizes.push(b.length);
    all += new TextDecoder().decode(b);
    wq.written(b.length);
    wq.release(b);
  }
  // Room is asked for as if the text were ASCII, so no batch is cut short by the 3-byte bound.
  assert.deepEqual(sizes, [64512, 64512, 64512, 11264]);
  assert.equal(all, line.repeat(200 * 1024 / 32));
});

Deno.test("write queue: a stream of short arrays reuses its buffers, round after round", () => {
  const wq = new WriteQueue();
  const chunk = Uint8Array.from({ length: 40 }, (_, i) => i);
  let allocated = 0;
  for (let round = 0; round < 8; round++) {
    if (round === 2) allocated = openBufferBytes();
    for (let i = 0; i < 70_000 / chunk.length; i++) wq.pushCopy(chunk);
    let bytes = 0;
    for (let b; (b = wq.takeBatch()) !== undefined;) {
      assert.ok(b.every((v, k) => v === (bytes + k) % 40), "bytes in order");
      bytes += b.length;
      wq.written(b.length);
      wq.release(b);
    }
    assert.equal(bytes, 70_000);
  }
  // A buffer outgrown during a burst goes back to the pool, and a stream's next batch starts
  // at full size: after the first rounds, the stream needs no new memory.
  assert.equal(openBufferBytes() - allocated, 0);
});
