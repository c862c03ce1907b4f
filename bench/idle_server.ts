/**
 * The measured side of the idle benchmark (bench/idle.ts): accepts `count` loopback
 * connections and leaves each idle in one state, then prints its memory before and after as
 * one JSON line, and waits to be killed (at most 120 s).
 *
 * Usage: idle_server.ts <bare|handle> <count> <settleMs>
 * - `bare`: each accepted conn has one pending `conn.read` into its own 2 KiB buffer.
 * - `handle`: each is wrapped in `new Handle(conn, { onEof() {} })` with one queued
 *   `h.pushRead("line", cb)`.
 *
 * Needs `--v8-flags=--expose-gc`: memory is read (`Deno.memoryUsage()`: rss, heapUsed,
 * external) after `gc()` has run several times with pauses, both before the first connection
 * (after the library is imported and the listener is up) and `settleMs` after the last one.
 * Prints the port as its first line.
 *
 * @module
 */
import type { Handle } from "../mod.ts";
import { loadLib } from "./lib.ts";

const [mode, countArg, settleArg] = Deno.args;
const count = Number(countArg);
const settleMs = Number(settleArg);
if (!["conn", "bare", "handle", "handle-512"].includes(mode) || !(count > 0) || !(settleMs >= 0)) {
  throw new TypeError(
    `usage: idle_server.ts <conn|bare|handle|handle-512> <count> <settleMs>, got ${Deno.args}`,
  );
}
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("idle_server.ts needs --v8-flags=--expose-gc");

const lib = await loadLib();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Memory after repeated full collections. */
async function settled(): Promise<Deno.MemoryUsage> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await sleep(50);
  }
  return Deno.memoryUsage();
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const kept: unknown[] = [];
const onLine = (_h: Handle, _line: string) => {};
const before = await settled();
console.log(listener.addr.port);
for await (const conn of listener) {
  if (mode === "conn") {
    kept.push(conn);
  } else if (mode === "bare") {
    conn.read(new Uint8Array(2048)).catch(() => {});
    kept.push(conn);
  } else {
    const h = new lib.Handle(conn, { onEof() {}, readSize: mode === "handle-512" ? 512 : 2048 });
    h.pushRead("line", onLine);
    kept.push(h);
  }
  if (kept.length === count) break;
}
await sleep(settleMs);
const after = await settled();
console.log(JSON.stringify({ count: kept.length, before, after }));
await sleep(120_000); // keeps every connection open until killed (bounded)
