/**
 * TLS echo benchmark (`--only=tlsecho`): the echo benchmark (bench/echo.ts) over TLS, for issue
 * 21's target of a TLS echo at 0.9x or more of a raw loop over a native `Deno.TlsConn`.
 *
 * The servers are bench/echo_server.ts's variants given tests/certs/server.pem and its key:
 * the raw loop and the hand-written string server over `Deno.listenTls` conns, the three
 * Handle styles over the same conns (`new Handle(tlsConn)`), `Handle.serve` with `nativeTls`
 * (iterate), and a Handle with `tls: "accept"` on a plain conn (the `node:tls` layer,
 * iterate). The load generator is bench/echo_load.c built with OpenSSL
 * (bench/echo_load_tls.c): every connection is a TLS 1.3 client session that verifies the
 * server against tests/certs/ca.pem, handshaking before the window. A last row, the plain raw
 * loop under the same generator without TLS, shows what TLS itself costs.
 *
 * Echo rates move by ±30% between runs on a 2-core machine (the server and the generator ping
 * pong across both cores), so `--rounds=N` (default 3) runs every server N times, round-robin,
 * and each row shows the median requests/s and the median, lowest and highest of its
 * per-round ratios to the same round's raw TLS loop; "load gen CPU" is the highest share of a
 * core the generator used in any round (near 100%, it is the limit, not the server).
 *
 * Without a C compiler or OpenSSL, the benchmark is skipped with a message. `--quick`: the
 * echo benchmark's short window, one round.
 *
 * @module
 */
import { denoScript } from "./child.ts";
import {
  fmtRps,
  type LoadResult,
  runOne,
  type Scenario,
  type Server,
  WARMUP,
  WINDOW,
} from "./echo.ts";
import { buildTlsLoadGenerator } from "./echo_load_build.ts";
import { type Lib, libDir, libUrl, loadLib } from "./lib.ts";
import { median, option, positive, QUICK } from "./options.ts";
import { TLS_CA, TLS_CERT, TLS_KEY } from "./run.ts";

const SCENARIOS: Scenario[] = [
  { connections: 10, depth: 1 },
  { connections: 10, depth: 32 },
];

const RAW = "raw loop on Deno.TlsConn";
const PER_READ = "hand-written, strings per read, Deno.TlsConn";
const ROUNDS = QUICK ? 1 : positive("rounds", option("rounds", "BENCH_ROUNDS"), 3);

/** The servers; the `lines` one only if the library has that type. */
function servers(lib: Lib): Server[] {
  const env = { BENCH_LIB: libUrl().href };
  const certs = new URL("../tests/certs/", import.meta.url).pathname;
  const deno = (variant: string, tls = true) =>
    denoScript(
      "./echo_server.ts",
      [
        "--allow-net=127.0.0.1",
        `--allow-read=${libDir()},${certs}`,
        "--allow-env=BENCH_LIB",
      ],
      tls ? [variant, TLS_CERT, TLS_KEY] : [variant],
    );
  const tlsCa = TLS_CA;
  const runs: Server[] = "lines" in lib
    ? [{
      name: 'Handle iterate("lines"), a write per run, Deno.TlsConn',
      argv: deno("iterateRuns"),
      env,
      tlsCa,
    }]
    : [];
  return [
    { name: RAW, argv: deno("raw"), env, tlsCa },
    { name: PER_READ, argv: deno("perRead"), env, tlsCa },
    { name: 'Handle pushRead("line"), Deno.TlsConn', argv: deno("pushRead"), env, tlsCa },
    { name: 'Handle iterate("line"), Deno.TlsConn', argv: deno("iterate"), env, tlsCa },
    { name: "Handle onRead + lineDecoder, Deno.TlsConn", argv: deno("onRead"), env, tlsCa },
    ...runs,
    {
      name: "Handle.serve nativeTls, iterate",
      argv: deno("serveNative"),
      env,
      tlsCa,
    },
    { name: 'tls: "accept" (node:tls layer), iterate', argv: deno("iterateLayer"), env, tlsCa },
    { name: "raw Deno.Conn loop, no TLS (reference)", argv: deno("raw", false), env },
  ];
}

const ratio = (x: number) => `${x.toFixed(2)}x`;
const cpu = (r: LoadResult) => r.cpu_seconds / r.seconds;

/** One scenario's table: `loads[server][round]`, the raw TLS loop first, perRead second. */
function table(s: Scenario, list: Server[], loads: LoadResult[][]): string[] {
  const lines = [
    `${s.connections.toLocaleString("en")} connections x ${s.depth} in flight, ` +
    `${loads[0].length} round(s):`,
    "",
    "| server | requests/s | vs raw TLS loop (lowest-highest) | vs hand-written TLS | " +
    "load gen CPU | stalled conns |",
    "|---|---|---|---|---|---|",
  ];
  list.forEach((srv, i) => {
    const rounds = loads[i];
    const toRaw = rounds.map((r, k) => r.rps / loads[0][k].rps);
    const toPerRead = rounds.map((r, k) => r.rps / loads[1][k].rps);
    const cells = [
      srv.name,
      fmtRps(median(rounds.map((r) => r.rps))),
      `${ratio(median(toRaw))} (${ratio(Math.min(...toRaw))}-${ratio(Math.max(...toRaw))})`,
      ratio(median(toPerRead)),
      `${(Math.max(...rounds.map(cpu)) * 100).toFixed(0)}%`,
      `${Math.max(...rounds.map((r) => r.stalled))} of ${s.connections}`,
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  });
  return lines;
}

/** Runs both scenarios against every TLS server and prints the tables. */
export async function runTlsEcho(): Promise<void> {
  const started = performance.now();
  const gen = await buildTlsLoadGenerator();
  if (typeof gen === "string") {
    console.log(`TLS echo: skipped, the TLS load generator could not be built (${gen}).`);
    return;
  }
  try {
    const list = servers(await loadLib());
    const loads = SCENARIOS.map(() => list.map((): LoadResult[] => []));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [at, s] of SCENARIOS.entries()) {
        for (const [i, server] of list.entries()) {
          loads[at][i].push((await runOne(gen, server, s)).load);
        }
      }
    }
    const cipher = loads[0][0][0].tls ?? "";
    const tables = SCENARIOS.flatMap((s, at) => [...table(s, list, loads[at]), ""]);
    console.log(
      `TLS echo: library ${libUrl().href}; load generator ${gen.kind}; ${cipher}; ` +
        `64-byte lines; ${WARMUP} s warm-up, then a ${WINDOW} s window; ` +
        "one fresh server process per scenario",
    );
    console.log("");
    console.log(tables.join("\n"));
  } finally {
    await gen.cleanup();
  }
  console.log(`TLS echo total time ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

if (import.meta.main) await runTlsEcho();
