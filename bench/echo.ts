/**
 * Echo benchmark: requests per second of line echo servers under a C load generator, and the
 * servers' memory with 5,000 busy connections.
 *
 * Each server variant (bench/echo_server.ts: a raw `Deno.Conn` loop and three Handle styles;
 * bench/echo_server_node.mjs: Node's 'data' split and readline) runs in its own child
 * process, freshly started for every scenario, and is driven by bench/echo_load.c in another
 * process (see bench/echo_load_build.ts): N connections with D requests of 64 bytes in flight
 * each, every reply checked byte for byte, a warm-up, then a fixed measured window. Scenarios:
 * 10 x 1, 10 x 32 and 5,000 x 1. Ratios are to the raw Deno loop and to Node's 'data' split of
 * the same run; "load gen CPU" is the generator's own CPU time over the window (near 100%, it
 * may be the limit rather than the server); "stalled" counts connections that got no reply at
 * all in the window (a server that serves only some of its connections).
 *
 * Memory: the server's VmRSS with no connection (after it listens), and the largest VmRSS
 * sampled every 200 ms during the 5,000-connection window; the difference, and per
 * connection.
 *
 * The library under test is `BENCH_LIB` (see bench/lib.ts). `--quick`: a 0.6 s window after
 * 0.2 s of warm-up (about 40 s in all) instead of 3 s after 0.5 s (about 90 s).
 *
 * @module
 */
import { Child, denoScript, rssKiB, sleep } from "./child.ts";
import { buildLoadGenerator, type LoadGenerator } from "./echo_load_build.ts";
import { type Lib, libDir, libUrl, loadLib } from "./lib.ts";
import { QUICK } from "./options.ts";

/** Seconds of warm-up, then of the measured window. */
export const WARMUP = QUICK ? 0.2 : 0.5;
export const WINDOW = QUICK ? 0.6 : 3;
/** Time for a fresh server to settle before its empty RSS is read. */
const SETTLE_MS = QUICK ? 200 : 400;

/** A server variant: its command line, and whether the generator speaks TLS to it. */
export interface Server {
  name: string;
  argv: string[];
  env?: Record<string, string>;
  /** The CA file the load generator verifies the server with (`--tls`), if TLS. */
  tlsCa?: string;
}

/** A number of connections, each with `depth` requests in flight. */
export interface Scenario {
  connections: number;
  depth: number;
  /** Whether to sample the server's RSS during the window. */
  memory?: boolean;
}

/** What bench/echo_load.c prints at the end. */
export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  cpu_seconds: number;
  connect_seconds: number;
  min_conn: number;
  stalled: number;
  /** With `--tls`: the negotiated version and cipher. */
  tls?: string;
}

/** One server's result under one scenario. */
export interface Run {
  load: LoadResult;
  /** KiB: before any connection, and the peak during the window (memory scenarios). */
  rssEmpty: number;
  rssPeak?: number;
}

const SCENARIOS: Scenario[] = [
  { connections: 10, depth: 1 },
  { connections: 10, depth: 32 },
  { connections: 5000, depth: 1, memory: true },
];

async function hasNode(): Promise<boolean> {
  try {
    return (await new Deno.Command("node", { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

/** The servers, Node's if `node`; the `lines` one if the library has that type. */
function servers(node: boolean, lib: Lib): Server[] {
  const env = { BENCH_LIB: libUrl().href };
  const deno = (variant: string) =>
    denoScript(
      "./echo_server.ts",
      ["--allow-net=127.0.0.1", `--allow-read=${libDir()}`, "--allow-env=BENCH_LIB"],
      [variant],
    );
  const nodeServer = new URL("./echo_server_node.mjs", import.meta.url).pathname;
  const list: Server[] = [
    { name: "raw Deno.Conn loop", argv: deno("raw"), env },
    { name: "hand-written Deno, strings per read", argv: deno("perRead"), env },
    { name: 'Handle pushRead("line") re-pushed', argv: deno("pushRead"), env },
    { name: 'Handle iterate("line")', argv: deno("iterate"), env },
    { name: "Handle onRead + lineDecoder", argv: deno("onRead"), env },
  ];
  if ("lines" in lib) {
    list.push({ name: 'Handle iterate("lines"), a write per run', argv: deno("iterateRuns"), env });
  }
  if (node) {
    list.push(
      { name: "Node 'data' split", argv: ["node", nodeServer, "data"] },
      { name: "Node readline", argv: ["node", nodeServer, "readline"] },
    );
  }
  return list;
}

/** One server under one scenario, in fresh processes. */
export async function runOne(gen: LoadGenerator, server: Server, s: Scenario): Promise<Run> {
  const srv = new Child(server.name, server.argv, server.env);
  let load: Child | undefined;
  try {
    const port = Number(await srv.nextLine(30));
    if (!(port > 0)) throw new Error(`${server.name}: bad port`);
    await sleep(SETTLE_MS);
    const rssEmpty = await rssKiB(srv.pid);
    load = new Child("echo_load", [
      ...gen.argv,
      ...(server.tlsCa === undefined ? [] : ["--tls", server.tlsCa]),
      String(port),
      String(s.connections),
      String(s.depth),
      String(WARMUP),
      String(WINDOW),
    ]);
    const marker = await load.nextLine(90);
    if (marker !== "measure") throw new Error(`echo_load: expected "measure", got "${marker}"`);
    const result = load.nextJson<LoadResult>(WINDOW + 30);
    let rssPeak: number | undefined;
    if (s.memory) {
      let done = false;
      result.finally(() => done = true).catch(() => {});
      while (!done) {
        rssPeak = Math.max(rssPeak ?? 0, await rssKiB(srv.pid));
        await Promise.race([sleep(200), result.catch(() => {})]);
      }
    }
    const out = await result;
    await load.exited(10);
    return { load: out, rssEmpty, rssPeak };
  } finally {
    await load?.stop();
    await srv.stop();
  }
}

/** Requests per second as "12.3 k/s" or "1.23 M/s". */
export const fmtRps = (rps: number): string =>
  rps >= 1e6 ? `${(rps / 1e6).toFixed(2)} M/s` : `${(rps / 1e3).toFixed(1)} k/s`;

function scenarioTable(s: Scenario, list: Server[], runs: Run[]): string[] {
  const raw = runs[0].load.rps;
  const nodeAt = list.findIndex((srv) => srv.name === "Node 'data' split");
  const node = nodeAt >= 0 ? runs[nodeAt].load.rps : undefined;
  const lines = [
    `${s.connections.toLocaleString("en")} connections x ${s.depth} in flight:`,
    "",
    "| server | requests/s | vs raw Deno | vs Node 'data' | load gen CPU | stalled conns |",
    "|---|---|---|---|---|---|",
  ];
  list.forEach((srv, i) => {
    const r = runs[i].load;
    const cells = [
      srv.name,
      fmtRps(r.rps),
      `${(r.rps / raw).toFixed(2)}x`,
      node === undefined ? "-" : `${(r.rps / node).toFixed(2)}x`,
      `${((r.cpu_seconds / r.seconds) * 100).toFixed(0)}%`,
      `${r.stalled} of ${s.connections}`,
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  });
  return lines;
}

function memoryTable(s: Scenario, list: Server[], runs: Run[]): string[] {
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  const lines = [
    `Server RSS with ${s.connections.toLocaleString("en")} busy connections ` +
    "(peak of 200 ms samples in the window) above the same process with none:",
    "",
    "| server | RSS, no connection | RSS, peak | above empty | per connection |",
    "|---|---|---|---|---|",
  ];
  list.forEach((srv, i) => {
    const { rssEmpty, rssPeak = rssEmpty } = runs[i];
    const above = rssPeak - rssEmpty;
    const cells = [
      srv.name,
      mib(rssEmpty),
      mib(rssPeak),
      mib(above),
      `${(above / s.connections).toFixed(1)} KiB`,
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  });
  return lines;
}

/** Runs every scenario against every server and prints the tables. */
export async function runEcho(): Promise<void> {
  const started = performance.now();
  const gen = await buildLoadGenerator();
  try {
    const list = servers(await hasNode(), await loadLib());
    console.log(
      `Echo: library ${libUrl().href}; load generator ${gen.kind}` +
        (gen.note ? ` (${gen.note})` : "") +
        `; 64-byte lines; ${WARMUP} s warm-up, then a ${WINDOW} s window; ` +
        "one fresh server process per scenario",
    );
    console.log("");
    for (const s of SCENARIOS) {
      const runs: Run[] = [];
      for (const server of list) runs.push(await runOne(gen, server, s));
      console.log(scenarioTable(s, list, runs).join("\n"));
      console.log("");
      if (s.memory) {
        console.log(memoryTable(s, list, runs).join("\n"));
        console.log("");
      }
    }
  } finally {
    await gen.cleanup();
  }
  console.log(`Echo total time ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

if (import.meta.main) await runEcho();
