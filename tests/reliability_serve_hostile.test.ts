/**
 * `Handle.serve` against hostile clients (issue 22), in plaintext, under `tls: "accept"`
 * (the `node:tls` layer) and with `nativeTls` (`Deno.listenTls`). The server runs in a child process (tests/fixtures/hostile_server.ts: the
 * README's line server with a `timeout`, counting what its `onError` is told) so that its
 * memory is its own; the attackers run here and in Perl (tests/fixtures/hostile_resets.pl,
 * for the resets Deno cannot send), all at the same time:
 *
 * - random bytes (seeded), raw and, under TLS, also inside a TLS session;
 * - a 50 MB line without a newline (the server's line limit is 8 KiB);
 * - slowloris: connections that send one byte every 200 ms, then fall silent; and idle ones
 *   that never send anything (under TLS, no ClientHello);
 * - resets (an RST, SO_LINGER 0) before sending anything and in the middle of a line;
 * - 500 connections opened, each half way through a line, then all dropped at once (half of
 *   them reset, half closed).
 *
 * Meanwhile a well-behaved client sends a line every 50 ms and must get each answer within
 * 2 s. Afterwards `server.connections` is back to 0, every handler has returned, the heap
 * after gc is back near where it started, RSS is bounded, every connection's error was
 * reported once (no handle twice; the reports by code are exactly `server.stats.errors`, and
 * exactly what the attacks call for), and the server wrote nothing on stderr.
 *
 * With `nativeTls`, a connection closed before its handshake keeps its socket until the peer
 * sends or leaves (Deno 2.9: the TLS stream's drop waits for the handshake), so the idle
 * clients, which never send a ClientHello, do not see the close. There the server's own
 * account is checked instead (each timed out once, none still open), and the clients leave
 * after the timeout; the README says why `nativeTls` is opt-in.
 */
import assert from "node:assert/strict";
import { Handle, line } from "../mod.ts";
import { CA, PATHS } from "./_tls.ts";
import { bytePool, later, sleep, within } from "./_reliability.ts";
import type { Report } from "./fixtures/hostile_server.ts";

const SERVER_CHILD = new URL("./fixtures/hostile_server.ts", import.meta.url).pathname;
const RESETS = new URL("./fixtures/hostile_resets.pl", import.meta.url).pathname;
const MIB = 2 ** 20;
/** How the server serves: no TLS, the `node:tls` layer, or `Deno.listenTls`. */
type Mode = "plain" | "tls" | "native";

/** The server's inactivity timeout (hostile_server.ts), in ms. */
const SERVER_TIMEOUT = 1000;

/** How many of each attacker. */
const ATTACK = {
  random: 6,
  randomBytes: 256 * 1024,
  bigLine: 50_000_000,
  slowloris: 40,
  slowlorisFor: 2000,
  idle: 20,
  resets: 25,
  drop: 500,
};

// ---- the server child and its control channel ----

/** The server child: its port, and its control channel (one JSON report per command). */
class ServerChild {
  readonly #child: Deno.ChildProcess;
  readonly #control: Handle;
  readonly #stderr: Promise<string>;
  readonly port: number;

  private constructor(
    child: Deno.ChildProcess,
    control: Handle,
    stderr: Promise<string>,
    port: number,
  ) {
    this.#child = child;
    this.#control = control;
    this.#stderr = stderr;
    this.port = port;
  }

  static async start(mode: Mode): Promise<ServerChild> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--v8-flags=--expose-gc",
        SERVER_CHILD,
        mode,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const control = Handle.fromStreams(child.stdout, child.stdin);
    try {
      const first = await within(control.read(line), 10_000, "the server child's port");
      const port = Number(/^port (\d+)$/.exec(first)?.[1]);
      assert.ok(port > 0, `the server child said "${first}"`);
      return new ServerChild(child, control, stderr, port);
    } catch (e) {
      child.kill("SIGKILL");
      control.destroy();
      await child.status;
      throw new Error(`The server child did not start: ${await stderr}`, { cause: e });
    }
  }

  /** Asks for a report: `stats` as things are, `gc` after collecting garbage. */
  async ask(command: "stats" | "gc"): Promise<Report> {
    this.#control.pushWrite(`${command}\n`);
    return JSON.parse(await within(this.#control.read(line), 10_000, `the answer to ${command}`));
  }

  /** Closes the control channel: the server shuts down. Its last report, and its stderr. */
  async stop(): Promise<{ report: Report; stderr: string }> {
    this.#control.pushShutdown();
    const report = JSON.parse(await within(this.#control.read(line), 10_000, "the last report"));
    this.#control.destroy();
    const status = await within(this.#child.status, 10_000, "the server child's exit");
    const stderr = await this.#stderr;
    assert.equal(status.code, 0, `the server child exited with ${status.code}: ${stderr}`);
    return { report, stderr };
  }

  /** Ends the child however things stand (after a failure). */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
    this.#control.destroy();
    await this.#child.status;
    await this.#stderr;
  }
}

// ---- clients ----

async function connect(port: number, tls: boolean): Promise<Deno.Conn> {
  const where = { hostname: "127.0.0.1", port };
  if (!tls) return await Deno.connect(where);
  const conn = await Deno.connectTls({ ...where, caCerts: [CA] });
  await conn.handshake();
  return conn;
}

/** Reads until end of input or an error (a reset); how many bytes came. */
async function readToEnd(conn: Deno.Conn): Promise<number> {
  const buf = new Uint8Array(64 * 1024);
  let total = 0;
  try {
    for (let n; (n = await conn.read(buf)) !== null;) total += n;
  } catch { /* reset, or a TLS alert */ }
  return total;
}

/** Writes all of `bytes`; false if the server closed the connection first. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  try {
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
    return true;
  } catch {
    return false;
  }
}

/** What the well-behaved client saw: how many answers, and the slowest (ms). */
interface Answers {
  answered: number;
  slowest: number;
}

/**
 * The well-behaved client: a line every 50 ms until `stop`, each answered within 2 s.
 */
async function wellBehaved(port: number, tls: boolean, stop: AbortSignal): Promise<Answers> {
  const h = new Handle(await connect(port, tls));
  let answered = 0;
  let slowest = 0;
  try {
    while (!stop.aborted) {
      const started = performance.now();
      h.pushWrite(`ping ${answered}\n`);
      const answer = await within(h.read(line), 2000, `the answer to ping ${answered}`);
      assert.equal(answer, `pong ping ${answered}`);
      slowest = Math.max(slowest, performance.now() - started);
      answered++;
      await sleep(50);
    }
  } finally {
    h.destroy();
    await h.closed.catch(() => {});
  }
  return { answered, slowest };
}

/**
 * Random bytes (seeded, never ending in a newline), then end of input; reads the answers to
 * the lines among them until the server closes.
 */
async function randomBytes(port: number, tls: boolean, seed: number): Promise<void> {
  const conn = await connect(port, tls);
  const bytes = bytePool(ATTACK.randomBytes, seed);
  if (bytes[bytes.length - 1] === 0x0a) bytes[bytes.length - 1] = 0x78;
  const reading = readToEnd(conn);
  if (await writeAll(conn, bytes)) await conn.closeWrite().catch(() => {});
  await within(reading, 10_000, "the server closing a random-bytes connection");
  conn.close();
}

/** A 50 MB line in 1 MiB writes: the server must cut it off. Returns the bytes sent. */
async function bigLine(port: number, tls: boolean): Promise<number> {
  const conn = await connect(port, tls);
  const piece = new Uint8Array(MIB).fill(0x78);
  let sent = 0;
  const reading = readToEnd(conn);
  try {
    while (sent < ATTACK.bigLine) {
      sent += await conn.write(piece.subarray(0, Math.min(MIB, ATTACK.bigLine - sent)));
    }
  } catch { /* cut off */ }
  await within(reading, 10_000, "the server closing the 50 MB line's connection");
  conn.close();
  return sent;
}

/**
 * `count` connections that send one byte every 200 ms for `ms`, then nothing (`ms` 0: never
 * anything). The server must keep them while they trickle and close each within its timeout
 * (plus a margin) of its falling silent. Returns the longest wait for that (ms). With
 * `unseen`, the close cannot reach the client (see the module doc): the connections wait out
 * the timeout and a margin, then leave, and the result is 0.
 */
async function slowloris(
  port: number,
  tls: boolean,
  count: number,
  ms: number,
  unseen = false,
): Promise<number> {
  const conns = await Promise.all(Array.from({ length: count }, () => connect(port, tls)));
  if (unseen) {
    await sleep(SERVER_TIMEOUT + 1500);
    for (const conn of conns) conn.close();
    return 0;
  }
  let silentSince = 0;
  let closedEarly = 0;
  const closings = conns.map(async (conn) => {
    await readToEnd(conn);
    if (silentSince === 0) closedEarly++;
    return performance.now() - silentSince;
  });
  const byte = new Uint8Array([0x78]);
  let lastByte = performance.now();
  const end = lastByte + ms;
  while (lastByte < end) {
    await Promise.all(conns.map((conn) => writeAll(conn, byte)));
    lastByte = performance.now();
    if (lastByte < end) await sleep(200);
  }
  silentSince = lastByte;
  try {
    const waits = await within(
      Promise.all(closings),
      SERVER_TIMEOUT + 3000,
      `the server closing ${count} ${ms > 0 ? "slowloris" : "idle"} connections`,
    );
    assert.equal(closedEarly, 0, `${closedEarly} closed while they were still sending`);
    return Math.max(...waits);
  } finally {
    for (const conn of conns) conn.close();
  }
}

/** Runs hostile_resets.pl (`resets` or `drop`) against the server. */
async function perlResets(port: number, tls: boolean, mode: string, count: number) {
  const args = [RESETS, String(port), mode, String(count), ...(tls ? [PATHS.ca] : [])];
  const out = await new Deno.Command("perl", { args, stdin: "null" }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.ok(out.success, `hostile_resets.pl ${mode}: ${text(out.stderr)}`);
  assert.equal(text(out.stdout), "ok\n");
}

// ---- the run ----

/** The highest memory (bytes) and connection count the polls saw. */
interface Peaks {
  rss: number;
  heap: number;
  external: number;
  connections: number;
}

/** Polls the server's reports every 100 ms until `stop`; the highest numbers seen. */
async function peaks(server: ServerChild, stop: AbortSignal): Promise<Peaks> {
  const peak = { rss: 0, heap: 0, external: 0, connections: 0 };
  while (!stop.aborted) {
    const r = await server.ask("stats");
    peak.rss = Math.max(peak.rss, r.memory.rss);
    peak.heap = Math.max(peak.heap, r.memory.heapUsed);
    peak.external = Math.max(peak.external, r.memory.external);
    peak.connections = Math.max(peak.connections, r.connections);
    await sleep(100);
  }
  return peak;
}

const mb = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

/**
 * How much more memory than the baseline the server may hold after gc, with nothing open.
 * Measured: +0.7 MiB of heap in plaintext, +1.2 MiB under TLS (compiled code and the like:
 * five more rounds of 500 connections add under 0.1 MiB each), and +0.3 MiB of ArrayBuffers.
 * A server that kept each connection's handle would be +3.1 MiB of heap and +4 MiB of
 * ArrayBuffers in plaintext (+11 and +23 MiB under TLS): these bounds catch that, where
 * +8 MiB would not.
 */
const AFTER_GC = { heap: 2.5 * MIB, external: 2 * MIB };

function withinBounds(baseline: Report, after: Report): boolean {
  return after.memory.heapUsed - baseline.memory.heapUsed < AFTER_GC.heap &&
    after.memory.external - baseline.memory.external < AFTER_GC.external;
}

async function hostileRun(variant: Mode): Promise<void> {
  const tls = variant !== "plain";
  const server = await ServerChild.start(variant);
  const { port } = server;
  let stopped = false;
  try {
    // Warm up (under TLS this loads node:tls), so the baseline is a server that has served.
    for (let i = 0; i < 3; i++) {
      const h = new Handle(await connect(port, tls));
      for (let j = 0; j < 3; j++) {
        h.pushWrite(`ping ${j}\n`);
        assert.equal(await within(h.read(line), 5000, "a warm-up answer"), `pong ping ${j}`);
      }
      h.destroy();
      await h.closed;
    }
    const baseline = await server.ask("gc");

    const stopClient = new AbortController();
    const client = later(wellBehaved(port, tls, stopClient.signal));
    const stopPolling = new AbortController();
    const polling = later(peaks(server, stopPolling.signal));
    const started = performance.now();
    const half = ATTACK.random / 2;
    const attacks = await Promise.allSettled([
      ...Array.from({ length: ATTACK.random }, (_, i) =>
        // Under TLS, half are garbage where the ClientHello belongs, half garbage inside TLS.
        randomBytes(port, tls && i >= half, 0x5eed + i)),
      bigLine(port, tls),
      slowloris(port, tls, ATTACK.slowloris, ATTACK.slowlorisFor),
      slowloris(port, false, ATTACK.idle, 0, variant === "native"),
      perlResets(port, tls, "resets", ATTACK.resets),
      perlResets(port, tls, "drop", ATTACK.drop),
    ]);
    const attacked = performance.now() - started;
    stopClient.abort();
    stopPolling.abort();
    const [answers, polled] = await Promise.allSettled([client, polling]);
    for (const a of [answers, polled, ...attacks]) if (a.status === "rejected") throw a.reason;
    const { answered, slowest } = (answers as PromiseFulfilledResult<Answers>).value;
    const peak = (polled as PromiseFulfilledResult<Peaks>).value;
    const sent = (attacks[ATTACK.random] as PromiseFulfilledResult<number>).value;
    const slowlorisWait = (attacks[ATTACK.random + 1] as PromiseFulfilledResult<number>).value;
    const idleWait = (attacks[ATTACK.random + 2] as PromiseFulfilledResult<number>).value;

    // Every connection ends: the count goes back to 0 and every handler returns.
    let after = await server.ask("stats");
    for (const deadline = performance.now() + 5000; performance.now() < deadline;) {
      if (after.connections === 0 && after.handlers === 0) break;
      await sleep(50);
      after = await server.ask("stats");
    }
    // Memory after gc: the least of a few tries, since V8 frees ArrayBuffers on a background
    // thread that a busy machine delays (a leak stays whatever the try).
    after = await server.ask("gc");
    const settled = [{ ...after.memory }];
    for (let i = 0; i < 4 && !withinBounds(baseline, after); i++) {
      await sleep(100);
      const again = await server.ask("gc");
      settled.push(again.memory);
      after.memory.heapUsed = Math.min(after.memory.heapUsed, again.memory.heapUsed);
      after.memory.external = Math.min(after.memory.external, again.memory.external);
    }
    console.log(
      `${variant}: attacks ${attacked.toFixed(0)} ms; well-behaved client: ${answered} answers, ` +
        `slowest ${slowest.toFixed(0)} ms; 50 MB line cut off after ${mb(sent)}; silent ` +
        `connections closed within ${slowlorisWait.toFixed(0)} ms (slowloris), ` +
        `${idleWait.toFixed(0)} ms (idle); peak ${peak.connections} connections\n` +
        `${variant}: rss ${mb(baseline.memory.rss)} -> peak ${mb(peak.rss)} -> ` +
        `${mb(after.memory.rss)}; heap ${mb(baseline.memory.heapUsed)} -> peak ` +
        `${mb(peak.heap)} -> ${mb(after.memory.heapUsed)}; external ` +
        `${mb(baseline.memory.external)} -> peak ${mb(peak.external)} -> ` +
        `${mb(after.memory.external)}\n${variant}: reports ${JSON.stringify(after.reports)}; ` +
        `stats ${JSON.stringify(after.stats)}`,
    );
    assert.equal(after.connections, 0, `${after.connections} connections still open`);
    assert.equal(after.handles, 0);
    assert.equal(after.handlers, 0, `${after.handlers} handlers have not returned`);

    // The well-behaved client was answered all along (each within 2 s, or it threw).
    assert.ok(answered >= attacked / 1000 * 5, `only ${answered} answers in ${attacked} ms`);
    // The server cut the line off long before 50 MB, and closed the silent ones in time.
    assert.ok(sent < ATTACK.bigLine, "the 50 MB line was not cut off");
    assert.ok(slowlorisWait >= SERVER_TIMEOUT - 100 && slowlorisWait < SERVER_TIMEOUT + 2000);
    assert.ok(idleWait < SERVER_TIMEOUT + 2000);

    // Every error reported once, exactly where the attacks call for one.
    const { reports, stats } = after;
    assert.deepEqual(reports.strange, []);
    assert.equal(reports.maxPerHandle, 1, "a handle was reported more than once");
    assert.deepEqual(reports.fatal, stats.errors, "the reports are server.stats.errors");
    const expected: Record<string, number> = {
      EPIPE: (tls ? ATTACK.random - half : ATTACK.random) + ATTACK.drop / 2,
      EMSGSIZE: 1,
      ECONNRESET: ATTACK.resets + ATTACK.drop / 2,
      ...(tls ? { EPROTO: half } : {}),
    };
    const timedOut = reports.nonFatal.ETIMEDOUT ?? 0;
    assert.ok(
      timedOut <= ATTACK.slowloris + ATTACK.idle,
      `${timedOut - ATTACK.slowloris - ATTACK.idle} connections were closed only by the ` +
        "inactivity timeout: the server missed their reset or end of input",
    );
    assert.deepEqual(sorted(stats.errors), sorted(expected), "fatal errors by code");
    assert.deepEqual(reports.nonFatal, { ETIMEDOUT: ATTACK.slowloris + ATTACK.idle });
    const fatalTotal = Object.values(stats.errors).reduce((a, b) => a + b, 0);
    assert.equal(reports.total, fatalTotal + ATTACK.slowloris + ATTACK.idle);
    // Every connection counted once: the warm-up's 3, the client, and the attackers.
    const made = 3 + 1 + ATTACK.random + 1 + ATTACK.slowloris + ATTACK.idle +
      2 * ATTACK.resets + ATTACK.drop;
    assert.equal(stats.accepted + stats.resetBeforeAccept, made, JSON.stringify(stats));
    // Those that sent nothing (of application data, under TLS): the idle ones, the resets
    // before sending, and under TLS the garbage handshakes.
    assert.equal(
      stats.closedWithoutData + stats.resetBeforeAccept,
      ATTACK.idle + ATTACK.resets + (tls ? half : 0),
      JSON.stringify(stats),
    );

    // Memory. The heap and the ArrayBuffers (read buffers, TLS records) after gc are back
    // near the baseline (AFTER_GC). RSS does not go down after a peak (the allocator keeps
    // what it had), so its bound is on the peak, which the connections open at once make:
    // measured on loopback, +21 MiB for ~450 plain connections (a 50 MB line buffered would
    // add 64 MiB) and +165 MiB for ~500 TLS ones (~330 KB each, ~230 KB of them ArrayBuffers
    // in the TLS layer); the bounds leave about 3x and 1.5x of that.
    assert.ok(
      after.memory.heapUsed - baseline.memory.heapUsed < AFTER_GC.heap,
      `heap ${mb(baseline.memory.heapUsed)} -> ${mb(after.memory.heapUsed)} after gc ` +
        `(tries: ${settled.map((m) => mb(m.heapUsed)).join(", ")})`,
    );
    assert.ok(
      after.memory.external - baseline.memory.external < AFTER_GC.external,
      `external ${mb(baseline.memory.external)} -> ${mb(after.memory.external)} after gc ` +
        `(tries: ${settled.map((m) => mb(m.external)).join(", ")})`,
    );
    const rssBound = (tls ? 256 : 64) * MIB;
    const rss = Math.max(peak.rss, after.memory.rss);
    assert.ok(
      rss - baseline.memory.rss < rssBound,
      `rss ${mb(baseline.memory.rss)} -> peak ${mb(rss)} (bound +${mb(rssBound)})`,
    );

    const { report, stderr } = await server.stop();
    stopped = true;
    assert.equal(report.connections, 0);
    assert.equal(stderr, "", "the server wrote on stderr");
  } finally {
    if (!stopped) await server.kill();
  }
}

function sorted(counts: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

Deno.test("serve hostile: plaintext server under random bytes, a 50 MB line, slowloris, resets and 500 dropped at once", async () => {
  await hostileRun("plain");
});

Deno.test("serve hostile: the same against tls: accept", async () => {
  await hostileRun("tls");
});

Deno.test("serve hostile: the same against nativeTls (Deno.listenTls)", async () => {
  await hostileRun("native");
});
