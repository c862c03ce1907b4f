/**
 * memcached benchmark (`--only=memcached`): pipelined GETs per second over one connection to a
 * real memcached (binary protocol, one worker thread), the Handle with `lengthField` against
 * Node's `net` with a hand-written parser of the same frames. Both clients run in processes
 * of their own (bench/memcached_client.ts, bench/memcached_node.mjs), send batches of `depth`
 * GETs of one key with a 100-byte value, check every response, and alternate; each run warms
 * up, then counts for a fixed window; the medians are compared.
 *
 * Needs memcached (`apt-get install memcached`) and node. Default: 3 runs of 1 s per client
 * and depth (about 20 s); `--quick`: 1 run of 0.5 s.
 *
 * @module
 */
import { Child, denoScript } from "./child.ts";
import { libDir, libUrl } from "./lib.ts";
import { median, QUICK } from "./options.ts";
import { MemcachedClient } from "../examples/memcached.ts";
import { startMemcached } from "../tests/_memcached.ts";

const RUNS = QUICK ? 1 : 3;
const WINDOW = QUICK ? 0.5 : 1;
const WARMUP = QUICK ? 0.2 : 0.3;
const DEPTHS = [1, 100];
const KEY = "bench:key";
const VALUE_LENGTH = 100;

/** One client run; returns GETs per second. */
async function runClient(argv: string[], name: string, env: Record<string, string> = {}) {
  const child = new Child(name, argv, env);
  try {
    const r = await child.nextJson<{ gets: number; seconds: number }>(WINDOW + WARMUP + 30);
    await child.exited(10);
    return r.gets / r.seconds;
  } finally {
    await child.stop();
  }
}

/** Runs both clients at each depth and prints the table. */
export async function runMemcached(): Promise<void> {
  const started = performance.now();
  console.log(
    `memcached: library ${libUrl().href}; one connection to memcached -B binary -t 1, ` +
      `GETs of a ${VALUE_LENGTH}-byte value in batches of "depth"; ${WARMUP} s warm-up, then the ` +
      `median of ${RUNS} run(s) of ${WINDOW} s per client (alternating)`,
  );
  console.log("");
  console.log(
    "| in flight | Node net + hand-written parser | Handle, lengthField + iterate | ratio |",
  );
  console.log("|---|---|---|---|");
  const server = await startMemcached(["-t", "1"]);
  try {
    const setup = await MemcachedClient.connect("127.0.0.1", server.port);
    await setup.set(KEY, "v".repeat(VALUE_LENGTH));
    await setup.close();
    const args = (
      depth: number,
    ) => [
      String(server.port),
      KEY,
      String(VALUE_LENGTH),
      String(depth),
      String(WINDOW),
      String(WARMUP),
    ];
    for (const depth of DEPTHS) {
      const node: number[] = [];
      const handle: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const nodeScript = new URL("./memcached_node.mjs", import.meta.url).pathname;
        node.push(await runClient(["node", nodeScript, ...args(depth)], "memcached_node"));
        handle.push(
          await runClient(
            denoScript(
              "./memcached_client.ts",
              ["--allow-net=127.0.0.1", `--allow-read=${libDir()}`, "--allow-env=BENCH_LIB"],
              args(depth),
            ),
            "memcached_client",
            { BENCH_LIB: libUrl().href },
          ),
        );
      }
      const fmt = (x: number) =>
        x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(1)} k/s`;
      const n = median(node);
      const h = median(handle);
      console.log(`| ${depth} | ${fmt(n)} | ${fmt(h)} | ${(h / n).toFixed(2)}x |`);
    }
  } finally {
    await server.stop();
  }
  console.log("");
  console.log(`memcached total time ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

if (import.meta.main) await runMemcached();
