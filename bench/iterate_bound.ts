/**
 * What bounds `for await (const line of h.iterate("line"))`: the async-iterator protocol
 * itself. Each `for await` step calls `next()`, which must return a promise, and awaits it:
 * one promise, one result object and one microtask turn per value, however the values are made.
 * This program measures that floor with no I/O and no decoding at all: an iterator handing out
 * pre-made strings from an array, then the same strings through a sync `for...of` and Node's
 * way of splitting (`String.prototype.split` on a decoded chunk) for comparison.
 *
 * Usage: `deno run bench/iterate_bound.ts` (prints millions of values per second; about 10 s).
 *
 * The iterator's rate is an upper bound for `iterate` of any read type: at L = 16 the Handle's
 * line production (read, decode, slice) costs about as much again as this floor, so `iterate`
 * reaches roughly 1 / (1 / floor + 1 / onRead rate).
 *
 * @module
 */

import { lineDecoder, NEED_MORE, ReadBuffer } from "../mod.ts";

const STEPS = 4_000_000;
const RUNS = 7;
/** 4096 distinct 15-character strings: the lines of the L = 16 throughput rows. */
const LINES = Array.from(
  { length: 4096 },
  (_, i) => `abcdefghijklm${String(i % 100).padStart(2, "0")}`,
);

/** The floor: `next()` returns an already-settled promise of a pre-made value. */
class PreMade implements AsyncIterableIterator<string> {
  #i = 0;

  next(): Promise<IteratorResult<string, undefined>> {
    if (this.#i >= STEPS) return Promise.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: LINES[this.#i++ & 4095], done: false });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<string> {
    return this;
  }
}

const CHUNK = new TextEncoder().encode(LINES.join("\n") + "\n");

/** The same lines cut from bytes by the library's line decoder, one per step, no handle. */
class Decoded implements AsyncIterableIterator<string> {
  #decoder = lineDecoder();
  #buf = new ReadBuffer();
  #appended = 0;

  next(): Promise<IteratorResult<string, undefined>> {
    let v = this.#decoder.decode(this.#buf);
    if (v === NEED_MORE) {
      if (this.#appended >= STEPS) return Promise.resolve({ value: undefined, done: true });
      this.#buf.append(CHUNK);
      this.#appended += LINES.length;
      v = this.#decoder.decode(this.#buf) as readonly [string, string];
    }
    return Promise.resolve({ value: v[0], done: false });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<string> {
    return this;
  }
}

function* syncLines(): Generator<string> {
  for (let i = 0; i < STEPS; i++) yield LINES[i & 4095];
}

/** The median rate in millions of values per second of `RUNS` runs of `body`. */
async function measure(body: () => Promise<number> | number): Promise<number> {
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const n = await body();
    rates.push(n / (performance.now() - t0) / 1e3);
  }
  return rates.sort((a, b) => a - b)[RUNS >> 1];
}

const rows: [string, () => Promise<number> | number][] = [
  ["for await over pre-made strings (the floor of iterate)", async () => {
    let n = 0;
    for await (const line of new PreMade()) n += line.length > 0 ? 1 : 0;
    return n;
  }],
  ["for await, each line cut from bytes by lineDecoder", async () => {
    let n = 0;
    for await (const line of new Decoded()) n += line.length > 0 ? 1 : 0;
    return n;
  }],
  ["lineDecoder alone over the same bytes (as onRead)", () => {
    const decoder = lineDecoder();
    const buf = new ReadBuffer();
    let n = 0;
    for (let done = 0; done < STEPS; done += LINES.length) {
      buf.append(CHUNK);
      for (let v; (v = decoder.decode(buf)) !== NEED_MORE;) n += v[0].length > 0 ? 1 : 0;
    }
    return n;
  }],
  ["for...of over the same strings (sync generator)", () => {
    let n = 0;
    for (const line of syncLines()) n += line.length > 0 ? 1 : 0;
    return n;
  }],
  ["String.split of 64 KiB chunks (Node's split, no I/O)", () => {
    const chunk = LINES.join("\n") + "\n";
    let n = 0;
    for (let done = 0; done < STEPS; done += LINES.length) {
      const parts = chunk.split("\n");
      parts.pop();
      for (const line of parts) n += line.length > 0 ? 1 : 0;
    }
    return n;
  }],
];

console.log("| loop | M values/s |\n|---|---|");
for (const [name, body] of rows) console.log(`| ${name} | ${(await measure(body)).toFixed(1)} |`);
