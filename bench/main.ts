/**
 * Throughput of @anyevent/handle against a raw Deno.Conn read loop, in one run.
 *
 * For each workload a producer child process (bench/producer.ts) connects over loopback and
 * writes a fixed pattern as fast as it can; the raw loop and each Handle variant read the
 * same amount, alternating, and the medians are compared. Sizes: BENCH_MB (default 64 MiB per
 * line run, 4x that for chunk runs); BENCH_QUICK=1 for a short run.
 */
import { Handle, lineDecoder, NEED_MORE } from "../mod.ts";

/** What one run sends: lines of `size` bytes, bytes (size 0), netstrings or JSON records. */
interface Pattern {
  record: string;
  /** Bytes per counted unit (a line, a record; 1 for bytes). */
  unit: number;
}

const QUICK = Deno.env.get("BENCH_QUICK") === "1";
const MB = Number(Deno.env.get("BENCH_MB") ?? (QUICK ? 16 : 64));
const RUNS = QUICK ? 1 : 3;
const READ_SIZE = 128 * 1024;
const PRODUCER = new URL("./producer.ts", import.meta.url).pathname;

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });

/** Starts a producer and returns the accepted connection and the bytes it will send. */
async function connect(pattern: Pattern, total: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      PRODUCER,
      String(listener.addr.port),
      pattern.record,
      String(total),
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const conn = await listener.accept();
  const size = Math.floor((256 * 1024) / pattern.unit) * pattern.unit;
  return { conn, child, bytes: Math.floor(total / size) * size };
}

/** One measured reader: consumes the connection and returns what it counted. */
type Reader = (conn: Deno.TcpConn) => Promise<number>;

/** Bytes read by a raw read loop into one 128 KiB buffer. */
const raw: Reader = async (conn) => {
  const buf = new Uint8Array(READ_SIZE);
  let bytes = 0;
  for (let n; (n = await conn.read(buf)) !== null;) bytes += n;
  conn.close();
  return bytes;
};

/** Lines from `for await (... of h.iterate("line"))`. */
const iterateLines: Reader = async (conn) => {
  const h = new Handle(conn, { readSize: READ_SIZE });
  let lines = 0;
  let chars = 0;
  for await (const line of h.iterate("line")) {
    lines++;
    chars += line.length;
  }
  h.destroy();
  return chars >= 0 ? lines : -1;
};

/** Lines decoded inside onRead with a lineDecoder used directly on h.rbuf. */
const onReadLines: Reader = (conn) =>
  new Promise((resolve) => {
    const decoder = lineDecoder();
    let lines = 0;
    new Handle(conn, {
      readSize: READ_SIZE,
      onRead(h) {
        while (decoder.decode(h.rbuf) !== NEED_MORE) lines++;
      },
      onEof(h) {
        h.destroy();
        resolve(lines);
      },
    });
  });

/**
 * Lines from pushRead("line", cb), re-pushed in every callback. The read still queued at end
 * of input is an EPIPE (AnyEvent semantics): with nothing left in rbuf that is the end.
 */
const pushReadLines: Reader = (conn) =>
  new Promise((resolve, reject) => {
    let lines = 0;
    const h = new Handle(conn, {
      readSize: READ_SIZE,
      onError: (h, e) => e.code === "EPIPE" && h.rbuf.length === 0 ? resolve(lines) : reject(e),
    });
    const onLine = (h: Handle) => {
      lines++;
      h.pushRead("line", onLine);
    };
    h.pushRead("line", onLine);
  });

/** Records from `for await (... of h.iterate(type))`. */
function iterateRecords(type: "netstring" | "json"): Reader {
  return async (conn) => {
    const h = new Handle(conn, { readSize: READ_SIZE });
    let records = 0;
    for await (const _ of h.iterate(type)) records++;
    h.destroy();
    return records;
  };
}

/** Bytes from pushRead("chunk", 65536, cb), re-pushed. */
const pushReadChunks: Reader = (conn) =>
  new Promise((resolve, reject) => {
    let bytes = 0;
    const h = new Handle(conn, {
      readSize: READ_SIZE,
      onError: (h, e) => e.code === "EPIPE" && h.rbuf.length === 0 ? resolve(bytes) : reject(e),
    });
    const onChunk = (h: Handle, chunk: Uint8Array) => {
      bytes += chunk.length;
      h.pushRead("chunk", 65536, onChunk);
    };
    h.pushRead("chunk", 65536, onChunk);
  });

/**
 * Node's line splitting on the same producer, in a node child (if node is installed):
 * MB/s, or undefined.
 */
async function nodeLines(pattern: Pattern, total: number): Promise<number | undefined> {
  let node: Deno.ChildProcess;
  try {
    node = new Deno.Command("node", {
      args: [new URL("./node_lines.mjs", import.meta.url).pathname],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  } catch {
    return undefined;
  }
  const lines = node.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const nextLine = async () => {
    while (!text.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("node baseline exited early");
      text += value;
    }
    const line = text.slice(0, text.indexOf("\n"));
    text = text.slice(line.length + 1);
    return line;
  };
  const port = Number(await nextLine());
  const producer = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", PRODUCER, String(port), pattern.record, String(total)],
  }).spawn();
  const result = JSON.parse(await nextLine()) as { lines: number; seconds: number };
  await lines.cancel();
  await Promise.all([node.status, producer.status]);
  return (result.lines * pattern.unit) / result.seconds / 1e6;
}

/** Seconds for one run of `reader`, checking its count. */
async function timeRun(reader: Reader, pattern: Pattern, total: number, unit: number) {
  const { conn, child, bytes } = await connect(pattern, total);
  const t0 = performance.now();
  const count = await reader(conn);
  const seconds = (performance.now() - t0) / 1000;
  const status = await child.status;
  if (!status.success) throw new Error("producer failed");
  const expected = bytes / unit;
  if (count !== expected) throw new Error(`counted ${count}, expected ${expected}`);
  return { seconds, bytes };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Row {
  workload: string;
  rawMBs: number;
  handleMBs: number;
  unit: number;
  target: number;
  nodeMBs?: number;
}

/** Runs raw and handle alternately; returns MB/s medians. */
async function compare(
  workload: string,
  reader: Reader,
  pattern: Pattern,
  target: number,
  withNode = false,
) {
  const total = (pattern.unit === 1 ? 4 : 1) * MB * 1024 * 1024;
  const unit = pattern.unit;
  await timeRun(raw, pattern, total, 1); // warm-up: let the JIT settle before measuring
  await timeRun(reader, pattern, total, unit);
  const rawRates: number[] = [];
  const handleRates: number[] = [];
  const nodeRates: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await timeRun(raw, pattern, total, 1);
    rawRates.push(r.bytes / r.seconds / 1e6);
    const h = await timeRun(reader, pattern, total, unit);
    handleRates.push(h.bytes / h.seconds / 1e6);
    const n = withNode ? await nodeLines(pattern, total) : undefined;
    if (n !== undefined) nodeRates.push(n);
  }
  const row: Row = {
    workload,
    rawMBs: median(rawRates),
    handleMBs: median(handleRates),
    unit,
    target,
    nodeMBs: nodeRates.length > 0 ? median(nodeRates) : undefined,
  };
  printRow(row);
  return row;
}

function printRow(r: Row): void {
  const ratio = r.handleMBs / r.rawMBs;
  const rate = (mbs: number) =>
    r.unit === 1
      ? `${mbs.toFixed(0)} MB/s`
      : `${(mbs / r.unit).toFixed(2)} M ${r.workload.startsWith("L=") ? "lines" : "records"}/s (${
        mbs.toFixed(0)
      } MB/s)`;
  const met = r.target === 0 ? "" : ratio >= r.target ? "yes" : "no";
  const node = r.nodeMBs === undefined ? "" : `${(r.nodeMBs / r.rawMBs).toFixed(2)}x`;
  console.log(
    `| ${r.workload} | ${rate(r.rawMBs)} | ${rate(r.handleMBs)} | ${ratio.toFixed(2)}x | ${
      r.target ? `>= ${r.target}x` : "-"
    } | ${met} | ${node} |`,
  );
}

console.log(
  `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${navigator.hardwareConcurrency} CPUs; ` +
    `${MB} MiB per line run, ${4 * MB} MiB per chunk run, median of ${RUNS}; ` +
    `raw = conn.read() into one ${READ_SIZE / 1024} KiB buffer; Handle readSize ${
      READ_SIZE / 1024
    } KiB`,
);
console.log("");
console.log(
  "| workload | raw Deno.Conn | Handle | ratio | target | met | Node split, ratio to raw |",
);
console.log("|---|---|---|---|---|---|---|");
const targets: Record<string, Record<number, number>> = {
  iterate: { 16: 0.8, 128: 0.9 },
  onRead: { 16: 0.8, 128: 0.9 },
  pushRead: { 16: 0.4 },
};
for (const length of [16, 128, 4096]) {
  const lines: Pattern = { record: String(length), unit: length };
  await compare(
    `L=${length} iterate("line")`,
    iterateLines,
    lines,
    targets.iterate[length] ?? 0,
    true,
  );
  await compare(
    `L=${length} onRead + lineDecoder`,
    onReadLines,
    lines,
    targets.onRead[length] ?? 0,
  );
  await compare(
    `L=${length} pushRead("line") per line`,
    pushReadLines,
    lines,
    targets.pushRead[length] ?? 0,
  );
}
await compare("chunk 64 KiB, pushRead per chunk", pushReadChunks, { record: "0", unit: 1 }, 0.9);
await compare(
  "netstring, 16-byte payloads, iterate",
  iterateRecords("netstring"),
  { record: "netstring:16", unit: 20 },
  0.3,
);
await compare("json, 64-byte objects, iterate", iterateRecords("json"), {
  record: "json:64",
  unit: 64,
}, 0);
listener.close();
