/**
 * Idle benchmark: the memory an idle Handle costs, per connection, against a bare conn.
 *
 * For each state a fresh server process (bench/idle_server.ts, `--v8-flags=--expose-gc`,
 * `ulimit -n` raised) accepts 5,000 loopback connections from a client process
 * (bench/idle_clients.ts) that opens them and sends nothing. States: `conn`, each accepted
 * conn kept with nothing pending; `bare`, each with one pending 2 KiB `conn.read`; `handle`, each wrapped in
 * `new Handle(conn, { onEof() {} })` with one queued `h.pushRead("line", cb)`. The server
 * reads `Deno.memoryUsage()` after forced GCs before the first connection and once all are
 * idle; the table gives the growth per connection (RSS, V8 heap used, external memory such
 * as ArrayBuffers), Handle minus bare (what the Handle adds to a read), and Handle minus conn
 * (what an idle handle with its read costs in all), and the same for a handle with
 * `readSize: 512`. Only the server side is measured.
 *
 * The library under test is `BENCH_LIB` (see bench/lib.ts). `--quick` waits 200 ms instead of
 * 1 s for the connections to settle.
 *
 * @module
 */
import { Child, denoScript } from "./child.ts";
import { libDir, libUrl } from "./lib.ts";
import { QUICK } from "./options.ts";

const COUNT = 5000;
const SETTLE_MS = QUICK ? 200 : 1000;

type Memory = Pick<Deno.MemoryUsage, "rss" | "heapUsed" | "external">;

interface Measured {
  count: number;
  before: Memory;
  after: Memory;
}

const STATES = [
  { mode: "conn", name: "conn, nothing pending" },
  { mode: "bare", name: "bare conn, one pending 2 KiB conn.read" },
  { mode: "handle", name: 'Handle { onEof }, one queued pushRead("line")' },
  { mode: "handle-512", name: "the same with readSize: 512" },
];

/** One state in fresh server and client processes. */
async function measure(mode: string): Promise<Measured> {
  const server = new Child(
    `idle_server ${mode}`,
    denoScript(
      "./idle_server.ts",
      [
        "--v8-flags=--expose-gc",
        "--allow-net=127.0.0.1",
        `--allow-read=${libDir()}`,
        "--allow-env=BENCH_LIB",
      ],
      [mode, String(COUNT), String(SETTLE_MS)],
    ),
    { BENCH_LIB: libUrl().href },
  );
  let clients: Child | undefined;
  try {
    const port = await server.nextLine(30);
    clients = new Child(
      "idle_clients",
      denoScript("./idle_clients.ts", ["--allow-net=127.0.0.1"], [port, String(COUNT)]),
    );
    const connected = await clients.nextLine(60);
    if (connected !== "connected") throw new Error(`idle_clients: got "${connected}"`);
    const m = await server.nextJson<Measured>(60);
    if (m.count !== COUNT) throw new Error(`idle_server: ${m.count} connections, not ${COUNT}`);
    return m;
  } finally {
    await server.stop();
    await clients?.stop();
  }
}

/** Bytes per connection of one field, as KiB. */
const perConn = (m: Measured, key: keyof Memory) => (m.after[key] - m.before[key]) / m.count / 1024;

/** Measures the states and prints the table. */
export async function runIdle(): Promise<void> {
  const started = performance.now();
  console.log(
    `Idle: library ${libUrl().href}; ${COUNT.toLocaleString("en")} idle loopback ` +
      `connections, server side; Deno.memoryUsage() after gc() x4, ${SETTLE_MS} ms after ` +
      "the last accept, minus the same before the first; one fresh process per state",
  );
  console.log("");
  console.log(
    "| state | RSS before | RSS after | RSS per conn | heap used per conn | external per conn |",
  );
  console.log("|---|---|---|---|---|---|");
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  const kib = (k: number) => `${k.toFixed(2)} KiB`;
  const results: Measured[] = [];
  for (const { mode, name } of STATES) {
    const m = await measure(mode);
    results.push(m);
    const cells = [
      name,
      mib(m.before.rss),
      mib(m.after.rss),
      kib(perConn(m, "rss")),
      kib(perConn(m, "heapUsed")),
      kib(perConn(m, "external")),
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
  const [conn, bare, handle, small] = results;
  const differences = [
    ["Handle minus bare", handle, bare],
    ["Handle minus conn (in all)", handle, conn],
    ["readSize 512 minus conn (in all)", small, conn],
  ] as const;
  for (const [name, a, b] of differences) {
    const diff = (key: keyof Memory) => kib(perConn(a, key) - perConn(b, key));
    console.log(`| ${name} | | | ${diff("rss")} | ${diff("heapUsed")} | ${diff("external")} |`);
  }
  console.log("");
  console.log(`Idle total time ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

if (import.meta.main) await runIdle();
