/**
 * Running one measurement of bench/main.ts: a fresh producer child process per run, the
 * accepted connection handed to a reader, the count checked, the child always awaited.
 *
 * @module
 */
import type { Conn, Counted, Reader } from "./readers.ts";

const PRODUCER = new URL("./producer.ts", import.meta.url).pathname;
/** The Node baselines: a script of bench/ per kind of record (see `nodeBaseline`). */
const NODE_SCRIPTS = {
  lines: new URL("./node_lines.mjs", import.meta.url).pathname,
  netstring: new URL("./node_netstring.mjs", import.meta.url).pathname,
};

/** The producer's buffer size before rounding down to whole records (see producer.ts). */
const PATTERN_SIZE = 256 * 1024;

/** What a producer sends: its record argument and the sizes needed to check a count. */
export interface Pattern {
  /** The producer's record argument: a line length, "0" (bytes), "netstring:n", "json:n". */
  record: string;
  /** Bytes per counted unit (a line or record; 1 for bytes). */
  unit: number;
  /** Expected `Counted.size` per unit (chars per line, payload bytes), if checked. */
  sizePerUnit?: number;
}

/** How many bytes a producer sends for `total`: whole 256 KiB-ish pattern buffers. */
export function bytesSent(pattern: Pattern, total: number): number {
  const size = Math.floor(PATTERN_SIZE / pattern.unit) * pattern.unit;
  return Math.floor(total / size) * size;
}

/** The CA that signed tests/certs/server.pem; a TLS producer trusts only it. */
export const TLS_CA = new URL("../tests/certs/ca.pem", import.meta.url).pathname;
/** The certificate (CN and SAN localhost, IP 127.0.0.1) and key a TLS listener serves. */
export const TLS_CERT = new URL("../tests/certs/server.pem", import.meta.url).pathname;
export const TLS_KEY = new URL("../tests/certs/server.key", import.meta.url).pathname;

/** A plain producer, or with `tls` one that connects with `Deno.connectTls` (see producer.ts). */
function spawnProducer(
  port: number,
  pattern: Pattern,
  total: number,
  tls = false,
): Deno.ChildProcess {
  const args = tls
    ? ["run", "--allow-net=127.0.0.1,localhost", `--allow-read=${TLS_CA}`, PRODUCER]
    : ["run", "--allow-net=127.0.0.1", PRODUCER];
  args.push(String(port), pattern.record, String(total));
  if (tls) args.push(TLS_CA);
  return new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

/** Waits for a child that may still be running, killing it first if `kill` is set. */
async function reap(child: Deno.ChildProcess, kill: boolean): Promise<Deno.CommandStatus> {
  if (kill) {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
  }
  return await child.status;
}

/** An accept left pending by a producer that died before connecting, reused by the next run. */
const pendingAccepts = new WeakMap<Deno.TcpListener | Deno.TlsListener, Promise<Conn>>();

/** Accepts the producer's connection, or fails if the producer exits without connecting. */
async function acceptFrom(
  listener: Deno.TcpListener | Deno.TlsListener,
  child: Deno.ChildProcess,
): Promise<Conn> {
  let accepted = pendingAccepts.get(listener);
  if (accepted === undefined) {
    accepted = listener.accept();
    accepted.catch(() => {}); // if it is left pending, closing the listener rejects it
    pendingAccepts.set(listener, accepted);
  }
  const conn = await Promise.race([
    accepted,
    child.status.then((s) => {
      if (s.success) return accepted;
      throw new Error(`producer exited with code ${s.code} before connecting`);
    }),
  ]);
  pendingAccepts.delete(listener);
  return conn;
}

/**
 * Times one reader on one fresh producer connection.
 *
 * @param listener Where the producer connects: a TCP listener, or a `Deno.listenTls` one.
 * @param tls Whether the producer speaks TLS (`Deno.connectTls`): always with a TLS
 * listener; with a TCP one, the reader must accept TLS itself.
 * @returns Seconds from accept to end of input (a TLS handshake included), and the bytes
 * transferred (plaintext).
 * @throws {Error} If the producer fails or the reader's count is not what was sent.
 */
export async function timeRun(
  listener: Deno.TcpListener | Deno.TlsListener,
  reader: Reader,
  pattern: Pattern,
  total: number,
  unit: number,
  tls = false,
): Promise<{ seconds: number; bytes: number }> {
  const bytes = bytesSent(pattern, total);
  const child = spawnProducer(listener.addr.port, pattern, total, tls);
  return await timeOn(
    child,
    async () => {
      const conn = await acceptFrom(listener, child);
      return () => reader(conn); // the reader closes conn
    },
    pattern,
    bytes,
    unit,
  );
}

/**
 * Times what `ready` returns once the producer `child` is ready for it, checks the count and
 * the producer's exit, and always reaps the child.
 */
async function timeOn(
  child: Deno.ChildProcess,
  ready: () => Promise<() => Promise<Counted>>,
  pattern: Pattern,
  bytes: number,
  unit: number,
): Promise<{ seconds: number; bytes: number }> {
  let ok = false;
  let result: { seconds: number; bytes: number };
  try {
    const run = await ready();
    const t0 = performance.now();
    const counted = await run();
    const seconds = (performance.now() - t0) / 1000;
    checkCount(counted, pattern, bytes, unit);
    result = { seconds, bytes };
    ok = true;
  } finally {
    await reap(child, !ok);
  }
  const status = await child.status;
  if (!status.success) throw new Error(`producer exited with code ${status.code}`);
  return result;
}

/**
 * Times one reader that connects itself, as a TLS client, to a fresh producer that is the
 * TLS server (`producer.ts listen-tls`): the client-role rows.
 *
 * @param connect Connects to the port given, reads to the end and counts.
 * @returns Seconds from the connect call to end of input (the handshake included), and the
 * bytes transferred (plaintext).
 * @throws {Error} If the producer fails or the count is not what was sent.
 */
export async function timeClientRun(
  connect: (port: number) => Promise<Counted>,
  pattern: Pattern,
  total: number,
  unit: number,
): Promise<{ seconds: number; bytes: number }> {
  const bytes = bytesSent(pattern, total);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      `--allow-read=${TLS_CERT},${TLS_KEY}`,
      PRODUCER,
      "listen-tls",
      pattern.record,
      String(total),
      TLS_CERT,
      TLS_KEY,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  return await timeOn(
    child,
    async () => {
      const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await out.read();
        if (done) throw new Error("the TLS producer exited before listening");
        text += value;
      }
      await out.cancel();
      return () => connect(Number(text.trim()));
    },
    pattern,
    bytes,
    unit,
  );
}

/** Throws unless `counted` is what `bytes` of `pattern` hold. */
function checkCount(counted: Counted, pattern: Pattern, bytes: number, unit: number): void {
  if (counted.units !== bytes / unit) {
    throw new Error(`counted ${counted.units} units, expected ${bytes / unit}`);
  }
  if (unit > 1 && pattern.sizePerUnit !== undefined) {
    const size = (bytes / unit) * pattern.sizePerUnit;
    if (counted.size !== size) throw new Error(`counted size ${counted.size}, expected ${size}`);
  }
}

/**
 * A hand-written Node parser on the same producer, in a node child: Node's usual line
 * splitting (bench/node_lines.mjs) or a netstring parser (bench/node_netstring.mjs). The script
 * prints its port, then `{lines, chars, seconds}`: records and their summed size.
 *
 * @returns MB/s, or undefined if `node` cannot be started.
 */
export async function nodeBaseline(
  kind: keyof typeof NODE_SCRIPTS,
  pattern: Pattern,
  total: number,
): Promise<number | undefined> {
  let node: Deno.ChildProcess;
  try {
    node = new Deno.Command("node", {
      args: [NODE_SCRIPTS[kind]],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  } catch {
    return undefined;
  }
  const out = node.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const nextLine = async () => {
    while (!text.includes("\n")) {
      const { value, done } = await out.read();
      if (done) throw new Error("node baseline exited early");
      text += value;
    }
    const line = text.slice(0, text.indexOf("\n"));
    text = text.slice(line.length + 1);
    return line;
  };
  let producer: Deno.ChildProcess | undefined;
  let ok = false;
  try {
    producer = spawnProducer(Number(await nextLine()), pattern, total);
    const result = JSON.parse(await nextLine()) as {
      lines: number;
      chars: number;
      seconds: number;
    };
    const lines = bytesSent(pattern, total) / pattern.unit;
    const size = lines * (pattern.sizePerUnit ?? pattern.unit - 1);
    if (result.lines !== lines || result.chars !== size) {
      throw new Error(`node counted ${result.lines} records of ${result.chars}, expected ${lines}`);
    }
    ok = true;
    return (result.lines * pattern.unit) / result.seconds / 1e6;
  } finally {
    await out.cancel();
    if (producer !== undefined) await reap(producer, !ok);
    await reap(node, !ok);
  }
}
