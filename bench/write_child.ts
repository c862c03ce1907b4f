/**
 * The writer of the write benchmark (bench/write.ts): connects to the sink at
 * 127.0.0.1:<port>, writes small payloads for `warmup` seconds, then counts them for
 * `seconds`, and prints `{"writes","bytes","seconds","total"}` (`total`: every byte sent,
 * warm-up included, for the sink's count to be checked against).
 *
 * Usage: write_child.ts <port> <raw|join|handle> <payload> <seconds> <warmup>
 * - payload `str16`, `str32`, `str64`: ASCII strings of that length (256 different ones,
 *   in turn); `bytes`: Uint8Arrays of 16 to 64 bytes (256 of them, lengths spread evenly).
 * - `raw`: the baseline, a batched writer: appends each payload to one 63 KiB buffer
 *   (`TextEncoder.encodeInto` for strings, `set` for bytes) and writes it to the
 *   `Deno.Conn` whenever the next payload might not fit.
 * - `handle`: `h.pushWrite(payload)` on a Handle (default options) over the conn, with
 *   `await h.drain()` after every 63 KiB of payloads.
 *
 * The library comes from `BENCH_LIB` (see bench/lib.ts).
 *
 * @module
 */
import type { Handle } from "../mod.ts";
import { loadLib } from "./lib.ts";

const BATCH = 64 * 1024;
const [portArg, variant, payload, secondsArg, warmupArg] = Deno.args;
const [port, seconds, warmup] = [Number(portArg), Number(secondsArg), Number(warmupArg)];
if (
  !(port > 0) || !(variant === "raw" || variant === "join" || variant === "handle") ||
  !/^(str(16|32|64)|bytes)$/.test(payload) || !(seconds > 0) || !(warmup >= 0)
) {
  throw new TypeError(
    `usage: write_child.ts <port> <raw|join|handle> <str16|str32|str64|bytes> <s> <warmup s>`,
  );
}

/** 256 payloads of the chosen kind. */
function pool(): string[] | Uint8Array[] {
  if (payload === "bytes") {
    return Array.from(
      { length: 256 },
      (_, i) => Uint8Array.from({ length: 16 + (i * 37) % 49 }, (_, j) => (i + j * 7) & 0xff),
    );
  }
  const length = Number(payload.slice(3));
  const letters = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(3);
  return Array.from({ length: 256 }, (_, i) => letters.slice(i % 36, i % 36 + length));
}

interface Counts {
  writes: number;
  bytes: number;
}

/** Calls `step` (which sends at least one batch) until `ms` have passed. */
async function during(ms: number, step: () => Promise<Counts>): Promise<Counts> {
  const end = performance.now() + ms;
  const total = { writes: 0, bytes: 0 };
  while (performance.now() < end) {
    const c = await step();
    total.writes += c.writes;
    total.bytes += c.bytes;
  }
  return total;
}

/** The batched raw writer: one 63 KiB buffer, written whenever it might not hold the next. */
function rawWriter(conn: Deno.Conn, items: string[] | Uint8Array[]): () => Promise<Counts> {
  const buf = new Uint8Array(BATCH);
  const encoder = new TextEncoder();
  let fill = 0;
  let i = 0;
  const flush = async () => {
    for (let at = 0; at < fill;) at += await conn.write(buf.subarray(at, fill));
    fill = 0;
  };
  if (typeof items[0] === "string") {
    const strings = items as string[];
    return async () => {
      let writes = 0;
      let bytes = 0;
      for (;;) {
        const s = strings[i];
        if (BATCH - fill < s.length * 3) break;
        const n = encoder.encodeInto(s, buf.subarray(fill)).written;
        fill += n;
        bytes += n;
        writes++;
        i = (i + 1) & 255;
      }
      await flush();
      return { writes, bytes };
    };
  }
  const arrays = items as Uint8Array[];
  return async () => {
    let writes = 0;
    let bytes = 0;
    for (;;) {
      const a = arrays[i];
      if (BATCH - fill < a.length) break;
      buf.set(a, fill);
      fill += a.length;
      bytes += a.length;
      writes++;
      i = (i + 1) & 255;
    }
    await flush();
    return { writes, bytes };
  };
}

/**
 * The joining raw writer, for strings: appends each string to one string (`+=`, a rope in
 * V8) and encodes the whole once per 63 KiB with one `encodeInto`: what a string API can reach
 * on Deno when it pays per flush, not per write.
 */
function joinWriter(conn: Deno.Conn, strings: string[]): () => Promise<Counts> {
  const buf = new Uint8Array(BATCH * 3);
  const encoder = new TextEncoder();
  let i = 0;
  return async () => {
    let writes = 0;
    let joined = "";
    while (joined.length < BATCH) {
      joined += strings[i];
      writes++;
      i = (i + 1) & 255;
    }
    const fill = encoder.encodeInto(joined, buf).written;
    for (let at = 0; at < fill;) at += await conn.write(buf.subarray(at, fill));
    return { writes, bytes: fill };
  };
}

/** The Handle writer: 63 KiB of `pushWrite` calls, then `await h.drain()`. */
function handleWriter(h: Handle, items: string[] | Uint8Array[]): () => Promise<Counts> {
  let i = 0;
  return async () => {
    let writes = 0;
    let bytes = 0;
    while (bytes < BATCH) {
      const item = items[i];
      h.pushWrite(item);
      bytes += item.length; // ASCII strings: characters are bytes
      writes++;
      i = (i + 1) & 255;
    }
    await h.drain();
    return { writes, bytes };
  };
}

const lib = await loadLib();
const items = pool();
const conn = await Deno.connect({ hostname: "127.0.0.1", port });
let warm: Counts;
let measured: Counts;
let elapsed: number;
if (variant === "raw" || variant === "join") {
  const step = variant === "raw" ? rawWriter(conn, items) : joinWriter(conn, items as string[]);
  warm = await during(warmup * 1000, step);
  const t0 = performance.now();
  measured = await during(seconds * 1000, step);
  elapsed = (performance.now() - t0) / 1000;
  conn.close();
} else {
  const h = new lib.Handle(conn);
  const step = handleWriter(h, items);
  warm = await during(warmup * 1000, step);
  const t0 = performance.now();
  measured = await during(seconds * 1000, step);
  elapsed = (performance.now() - t0) / 1000;
  h.destroy();
  await h.closed;
}
console.log(JSON.stringify({ ...measured, seconds: elapsed, total: warm.bytes + measured.bytes }));
