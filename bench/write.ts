/**
 * Write benchmark: millions of small `pushWrite` calls per second against a raw batched
 * writer, on loopback to a peer process that only reads and discards (bench/sink.ts).
 *
 * Payloads: 16-, 32- and 64-byte ASCII strings, and Uint8Arrays of 16 to 64 bytes. For each,
 * a fresh writer process (bench/write_child.ts) runs the raw batched writer (one 63 KiB
 * buffer filled with `TextEncoder.encodeInto` or `set`, written 63 KiB at a time to the
 * `Deno.Conn`), then another runs `h.pushWrite(payload)` with `await h.drain()` every 63 KiB,
 * alternating; each run warms up, then counts for a fixed window; the medians are compared.
 * The sink's byte count of every connection is checked against what the writer sent.
 *
 * The library under test is `BENCH_LIB` (see bench/lib.ts). Default: 3 runs of 1 s each per
 * variant (about 40 s); `--quick`: 1 run of 0.5 s (about 10 s).
 *
 * @module
 */
import { Child, denoScript } from "./child.ts";
import { libDir, libUrl } from "./lib.ts";
import { median, QUICK } from "./options.ts";

const RUNS = QUICK ? 1 : 3;
const WINDOW = QUICK ? 0.5 : 1;
const WARMUP = QUICK ? 0.2 : 0.3;

const PAYLOADS = [
  { arg: "str16", name: "16-byte strings" },
  { arg: "str32", name: "32-byte strings" },
  { arg: "str64", name: "64-byte strings" },
  { arg: "bytes", name: "16-64-byte Uint8Arrays" },
];

interface Result {
  writes: number;
  bytes: number;
  seconds: number;
  total: number;
}

/** One writer run against the sink; returns writes/s and MB/s. */
async function runWriter(
  sink: Child,
  port: number,
  variant: "raw" | "join" | "handle",
  payload: string,
): Promise<{ wps: number; mbs: number }> {
  const writer = new Child(
    `write_child ${variant} ${payload}`,
    denoScript(
      "./write_child.ts",
      ["--allow-net=127.0.0.1", `--allow-read=${libDir()}`, "--allow-env=BENCH_LIB"],
      [String(port), variant, payload, String(WINDOW), String(WARMUP)],
    ),
    { BENCH_LIB: libUrl().href },
  );
  try {
    const r = await writer.nextJson<Result>(WINDOW + WARMUP + 30);
    await writer.exited(10);
    const { bytes } = await sink.nextJson<{ bytes: number }>(10);
    if (bytes !== r.total) throw new Error(`sink read ${bytes} bytes, writer sent ${r.total}`);
    return { wps: r.writes / r.seconds, mbs: r.bytes / r.seconds / 1e6 };
  } finally {
    await writer.stop();
  }
}

/** Runs every payload with both writers and prints the table. */
export async function runWrite(): Promise<void> {
  const started = performance.now();
  console.log(
    `Write: library ${libUrl().href}; writer and discarding reader in separate processes; ` +
      `${WARMUP} s warm-up, then the median of ${RUNS} run(s) of ${WINDOW} s per variant ` +
      "(raw and Handle alternate); Handle default options",
  );
  console.log("");
  console.log(
    "| payload | raw batched (`encodeInto` per write) | raw joining (one `encodeInto` per 63 KiB) " +
      "| Handle pushWrite | ratio to batched | ratio to joining |",
  );
  console.log("|---|---|---|---|---|---|");
  const sink = new Child("sink", denoScript("./sink.ts", ["--allow-net=127.0.0.1"], []));
  try {
    const port = Number(await sink.nextLine(30));
    for (const { arg, name } of PAYLOADS) {
      const strings = arg !== "bytes";
      const raw: { wps: number; mbs: number }[] = [];
      const join: { wps: number; mbs: number }[] = [];
      const handle: { wps: number; mbs: number }[] = [];
      for (let i = 0; i < RUNS; i++) {
        raw.push(await runWriter(sink, port, "raw", arg));
        if (strings) join.push(await runWriter(sink, port, "join", arg));
        handle.push(await runWriter(sink, port, "handle", arg));
      }
      const fmt = (rs: { wps: number; mbs: number }[]) =>
        rs.length === 0 ? "—" : `${(median(rs.map((r) => r.wps)) / 1e6).toFixed(2)} M/s ` +
          `(${median(rs.map((r) => r.mbs)).toFixed(0)} MB/s)`;
      const wps = (rs: { wps: number }[]) => median(rs.map((r) => r.wps));
      const toRaw = wps(handle) / wps(raw);
      const toJoin = strings ? `${(wps(handle) / wps(join)).toFixed(2)}x` : "—";
      console.log(
        `| ${name} | ${fmt(raw)} | ${fmt(join)} | ${fmt(handle)} | ${
          toRaw.toFixed(2)
        }x | ${toJoin} |`,
      );
    }
  } finally {
    await sink.stop();
  }
  console.log("");
  console.log(`Write total time ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

if (import.meta.main) await runWrite();
