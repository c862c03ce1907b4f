/**
 * What bounds `pushWrite` of short strings against the joining raw writer (README, "Small
 * writes"): in memory, CPU only, no socket. Times, per string, in turn and 7 times each
 * (medians):
 * - a local `+=` join, encoded once per 64 KiB: the joining writer's own work;
 * - the least a per-call API can do: a method on an object that joins the text in a field and
 *   returns whether a limit holds (what `pushWrite`'s result needs);
 * - the library's `WriteQueue.pushText`, batches taken and released per 64 KiB.
 *
 * Usage: `deno run bench/write_bound.ts [length]` (default 16 characters).
 *
 * @module
 */
import { WriteQueue } from "../handle/write_queue.ts";

const LIMIT = 64 * 1024;
const length = Number(Deno.args[0] ?? 16);
const letters = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(3);
const strings = Array.from({ length: 256 }, (_, i) => letters.slice(i % 36, i % 36 + length));
const encoder = new TextEncoder();
const out = new Uint8Array(LIMIT * 3);

/** The least a per-call write API does: join in a field, say whether the limit holds. */
class Joiner {
  #text = "";
  #units = 0;
  push(text: string): boolean {
    this.#text += text;
    this.#units += text.length;
    return this.#units <= LIMIT;
  }
  flush(): void {
    encoder.encodeInto(this.#text, out);
    this.#text = "";
    this.#units = 0;
  }
}

type Round = (from: number) => number;

const localJoin: Round = (i) => {
  let joined = "";
  while (joined.length < LIMIT) joined += strings[i++ & 255];
  encoder.encodeInto(joined, out);
  return i;
};

const joiner = new Joiner();
const perCall: Round = (i) => {
  for (let units = 0; units < LIMIT; i++) {
    const s = strings[i & 255];
    joiner.push(s);
    units += s.length;
  }
  joiner.flush();
  return i;
};

const wq = new WriteQueue();
const queue: Round = (i) => {
  for (let units = 0; units < LIMIT; i++) {
    const s = strings[i & 255];
    wq.pushText(s);
    units += s.length;
  }
  for (let b; (b = wq.takeBatch()) !== undefined;) {
    wq.written(b.length);
    wq.release(b);
  }
  return i;
};

/** Nanoseconds per string over `ms` of rounds. */
function time(round: Round, ms: number): number {
  const t0 = performance.now();
  let i = 0;
  while (performance.now() - t0 < ms) i = round(i);
  return (performance.now() - t0) * 1e6 / i;
}

const rounds: [string, Round][] = [
  ["local += join", localJoin],
  ["per-call API, joined in a field", perCall],
  ["WriteQueue.pushText", queue],
];
for (const [, round] of rounds) time(round, 300); // warm-up
const samples = rounds.map(() => [] as number[]);
for (let k = 0; k < 7; k++) rounds.forEach(([, round], j) => samples[j].push(time(round, 250)));
const median = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1];
const base = median(samples[0]);
for (const [j, [name]] of rounds.entries()) {
  const ns = median(samples[j]);
  console.log(`${name}: ${ns.toFixed(1)} ns a string (${(base / ns).toFixed(2)}x the local join)`);
}
