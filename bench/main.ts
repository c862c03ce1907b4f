/**
 * `deno task bench`: every benchmark of bench/, one after the other, each printing a markdown
 * table.
 *
 * - `throughput` (bench/throughput.ts): reading lines and records, Handle against a raw
 *   `Deno.Conn` loop.
 * - `echo` (bench/echo.ts): requests/s of line echo servers (raw Deno, three Handle styles,
 *   Node) under a C load generator, 10 x 1, 10 x 32 and 5,000 x 1 connections x in flight,
 *   and their memory with 5,000 busy connections.
 * - `tlsecho` (bench/echo_tls.ts): the same over TLS (10 x 1 and 10 x 32), against a raw loop
 *   on `Deno.TlsConn`s; skipped without a C compiler or OpenSSL.
 * - `write` (bench/write.ts): small `pushWrite` calls per second against a raw batched
 *   writer.
 * - `idle` (bench/idle.ts): memory per idle Handle against a bare conn, 5,000 of each.
 * - `memcached` (bench/memcached.ts): pipelined GETs/s to a real memcached, the Handle with
 *   `lengthField` against Node's `net` with a hand-written parser.
 *
 * Options (flag or environment variable):
 * - `--only=A,B` / `BENCH_ONLY=A,B`: a name above runs that benchmark; any other text runs the
 *   throughput workloads whose name contains it (`--only=TLS`: the TLS rows;
 *   `--only=echo,L=16`: the echo benchmark and the L=16 throughput rows). Without it, all.
 * - `--quick` / `BENCH_QUICK=1`: every benchmark shortened to a sanity check.
 * - `BENCH_LIB=/path/to/mod.ts`: the copy of the library to measure (default: this
 *   repository's), for a before/after comparison in one sitting (see bench/lib.ts).
 * - The throughput options `--mb`, `--runs`, `--no-node` (see bench/throughput.ts).
 *
 * @module
 */
import { runEcho } from "./echo.ts";
import { runTlsEcho } from "./echo_tls.ts";
import { runIdle } from "./idle.ts";
import { runMemcached } from "./memcached.ts";
import { option } from "./options.ts";
import { runThroughput } from "./throughput.ts";
import { runWrite } from "./write.ts";

const SUITES: Record<string, () => Promise<void>> = {
  echo: runEcho,
  tlsecho: runTlsEcho,
  write: runWrite,
  idle: runIdle,
  memcached: runMemcached,
};

const only = option("only", "BENCH_ONLY")?.split(",").map((t) => t.trim()).filter((t) => t);
const terms = only === undefined || only.length === 0 ? undefined : only;
const filters = terms?.filter((t) => t !== "throughput" && !(t in SUITES));

const selected: (() => Promise<void>)[] = [];
if (terms === undefined || terms.includes("throughput")) selected.push(() => runThroughput());
else if (filters!.length > 0) selected.push(() => runThroughput(filters));
for (const [name, run] of Object.entries(SUITES)) {
  if (terms === undefined || terms.includes(name)) selected.push(run);
}
for (const [i, run] of selected.entries()) {
  if (i > 0) console.log("");
  await run();
}
