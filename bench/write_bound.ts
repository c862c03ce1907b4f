/**
 * What bounds `pushWrite` of short strings and byte arrays against the raw writers (README,
 * "Small writes"): in memory, CPU only, no socket. Times, per write, in turn and 7 times each
 * (medians), for strings:
 * - a local `+=` join, encoded once per 64 KiB: the joining writer's own work;
 * - the least a per-call API can do: a method on an object that joins the text in a field and
 *   returns whether a limit holds (what `pushWrite`'s result needs);
 * - the library's `WriteQueue.pushText`, batches taken and released per 64 KiB;
 *
 * and for byte arrays (16-64 bytes, as the write benchmark's):
 * - a local loop that `set`s each array into one 64 KiB buffer: the raw batched copy's work;
 * - the least a per-call API can do: a method that copies into a buffer in a field and returns
 *   whether a limit holds;
 * - the library's `WriteQueue.pushCopy`, batches taken and released per 64 KiB.
 *
 * Usage: `deno run bench/write_bound.ts [length|bytes]` (default 16-character strings).
 *
 * @module
 */
import { WriteQueue } from "../handle/write_queue.ts";

const LIMIT = 64 * 1024;
const bytesMode = Deno.args[0] === "bytes";
const length = bytesMode ? 0 : Number(Deno.args[0] ?? 16);
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

const arrays = Array.from(
  { length: 256 },
  (_, i) => Uint8Array.from({ length: 16 + (i * 37) % 49 }, (_, j) => (i + j * 7) & 0xff),
);

/** The least a per-call write API does for bytes: copy into a buffer, say whether the limit holds. */
class Copier {
  #buf = new Uint8Array(LIMIT + 64);
  #filled = 0;
  push(bytes: Uint8Array): boolean {
    this.#buf.set(bytes, this.#filled);
    this.#filled += bytes.length;
    return this.#filled <= LIMIT;
  }
  flush(): void {
    this.#filled = 0;
  }
}

const localCopy: Round = (i) => {
  let filled = 0;
  while (filled < LIMIT) {
    const a = arrays[i++ & 255];
    out.set(a, filled);
    filled += a.length;
  }
  return i;
};

const copier = new Copier();
const perCallCopy: Round = (i) => {
  for (let filled = 0; filled < LIMIT; i++) {
    const a = arrays[i & 255];
    copier.push(a);
    filled += a.length;
  }
  copier.flush();
  return i;
};

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
/** Hands every batch over as written and back to the queue. */
function drainQueue(): void {
  for (let b; (b = wq.takeBatch()) !== undefined;) {
    wq.written(b.length);
    wq.release(b);
  }
}
const queue: Round = (i) => {
  for (let units = 0; units < LIMIT; i++) {
    const s = strings[i & 255];
    wq.pushText(s);
    units += s.length;
  }
  drainQueue();
  return i;
};
const queueCopy: Round = (i) => {
  for (let filled = 0; filled < LIMIT; i++) {
    const a = arrays[i & 255];
    wq.pushCopy(a);
    filled += a.length;
  }
  drainQueue();
  return i;
};

/** Nanoseconds per string over `ms` of rounds. */
function time(round: Round, ms: number): number {
  const t0 = performance.now();
  let i = 0;
  while (performance.now() - t0 < ms) i = round(i);
  return (performance.now() - t0) * 1e6 / i;
}

const rounds: [string, Round][] = bytesMode
  ? [
    ["local set loop", localCopy],
    ["per-call API, copied into a field's buffer", perCallCopy],
    ["WriteQueue.pushCopy", queueCopy],
  ]
  : [
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
  console.log(
    `${name}: ${ns.toFixed(1)} ns a ${bytesMode ? "write" : "string"} ` +
      `(${(base / ns).toFixed(2)}x the ${rounds[0][0]})`,
  );
}
