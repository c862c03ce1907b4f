/**
 * What one request and its reply cost a Handle without the kernel (README, "Echo servers"): a
 * line echo over an in-memory transport whose next request arrives once the reply was written,
 * so each request is one read, one dispatch and one write, as with one request in flight. The
 * echo rows move by more than a change to this path is worth on the shared build machine; in
 * one process, alternating, two copies of the library can be told apart.
 *
 * Usage: `deno run --allow-read --allow-env bench/burst_cost.ts [onRead|pushRead|iterate]`
 * times this checkout; with `BENCH_LIB=<other checkout>/mod.ts` it alternates this checkout (A)
 * with that one (B), 15 pairs after a warm-up, and prints the medians and A/B pair by pair.
 *
 * @module
 */
import type { Handle } from "../mod.ts";
import type { Lib } from "./lib.ts";

const style = Deno.args[0] ?? "onRead";
const REQUESTS = 20_000;
const line = new TextEncoder().encode("a".repeat(63) + "\n");

/** Runs `REQUESTS` request/reply rounds on a fresh handle; returns microseconds a request. */
async function rounds(lib: Lib): Promise<number> {
  let sent = 0;
  let replies = 0;
  let next: (() => void) | undefined;
  const transport = {
    read(p: Uint8Array): Promise<number | null> {
      if (sent >= REQUESTS) return Promise.resolve(null);
      return new Promise((resolve) => {
        const request = () => {
          sent++;
          p.set(line);
          resolve(line.length);
        };
        if (replies >= sent) request();
        else next = request;
      });
    },
    write(p: Uint8Array): Promise<number> {
      replies++;
      const request = next;
      next = undefined;
      request?.();
      return Promise.resolve(p.length);
    },
    close() {},
    closeWrite: () => Promise.resolve(),
  };
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const done = (h: Handle) => {
      h.destroy();
      resolve();
    };
    if (style === "onRead") {
      const lines = lib.lineDecoder();
      new lib.Handle(transport, {
        onRead(h) {
          for (let v; (v = lines.decode(h.rbuf)) !== lib.NEED_MORE;) h.pushWrite(v[0] + "\n");
        },
        onEof: done,
      });
    } else if (style === "pushRead") {
      const h = new lib.Handle(transport, { onError: done });
      const onLine = (h: Handle, l: string) => {
        h.pushWrite(l + "\n");
        h.pushRead("line", onLine);
      };
      h.pushRead("line", onLine);
    } else if (style === "iterate") {
      const h = new lib.Handle(transport);
      (async () => {
        for await (const l of h.iterate("line")) h.pushWrite(l + "\n");
      })().finally(() => done(h));
    } else throw new TypeError(`Unknown style "${style}": onRead, pushRead or iterate`);
  });
  return (performance.now() - start) * 1000 / REQUESTS;
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const here: Lib = await import("../mod.ts");
const other = Deno.env.get("BENCH_LIB");
const there: Lib | undefined = other
  ? await import(new URL(other, `file://${Deno.cwd()}/`).href)
  : undefined;
const libs = there === undefined ? [here] : [here, there];
for (let i = 0; i < 3; i++) for (const lib of libs) await rounds(lib);
const times: number[][] = libs.map(() => []);
for (let i = 0; i < 15; i++) {
  for (let j = 0; j < libs.length; j++) times[j].push(await rounds(libs[j]));
}
if (there === undefined) {
  console.log(`${style}: ${median(times[0]).toFixed(3)} us a request (median of 15)`);
} else {
  const ratios = times[0].map((a, i) => a / times[1][i]);
  console.log(
    `${style}: A (this checkout) ${median(times[0]).toFixed(3)} us, B (${other}) ` +
      `${median(times[1]).toFixed(3)} us a request; A/B pair by pair: median ` +
      `${median(ratios).toFixed(3)}, ${Math.min(...ratios).toFixed(3)}-${
        Math.max(...ratios).toFixed(3)
      }`,
  );
}
