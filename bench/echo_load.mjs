// Fallback load generator of the echo benchmark (bench/echo.ts) for machines without a C
// compiler: the protocol and output of bench/echo_load.c, in Node (slower, so it may well be
// the bottleneck: compare its cpu_seconds with the window).
//
// Usage: node echo_load.mjs <port> <connections> <depth> <warmup_s> <duration_s>
//
// Connects to 127.0.0.1 only, at most 128 connections not yet answered at a time, each
// sending one request until all are up; then each keeps <depth> 64-byte request lines in
// flight and checks every reply byte against the line sent (a mismatch exits with status 2).
// Prints "measure" when the measured window starts, then, after the replies still due have
// arrived (at most 10 s), one JSON line: requests, seconds, rps, cpu_seconds,
// connect_seconds, min_conn, stalled.
import { connect } from "node:net";

const LINE = 64;
const MAX_CONNECTING = 128;
const [port, count, depth] = process.argv.slice(2, 5).map(Number);
const [warmup, duration] = process.argv.slice(5, 7).map(Number);
if (!(port > 0 && count > 0 && depth > 0 && depth <= 1024 && warmup >= 0 && duration > 0)) {
  console.error("usage: node echo_load.mjs <port> <connections> <depth> <warmup_s> <duration_s>");
  process.exit(2);
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz".repeat(3);

/** Request `seq` of connection `id`, as bench/echo_load.c makes it. */
function line(id, seq) {
  const head = `${id.toString(16).padStart(8, "0")}:${seq.toString(16).padStart(16, "0")} `;
  const from = (seq * 7 + id) % 26;
  return Buffer.from(`${head}${LETTERS.slice(from, from + LINE - 27)}\n`, "latin1");
}

function die(id, what) {
  console.error(`echo_load.mjs: connection ${id}: ${what}`);
  process.exit(2);
}

let phase = "connecting";
let opened = 0;
let waiting = 0;
let up = 0;
let replies = 0;
const conns = [];
const t0 = performance.now();

function sendMore(c) {
  if (phase === "drain") return;
  const limit = phase === "connecting" ? 1 : depth;
  const lines = [];
  while (c.sent - c.received < limit && (phase !== "connecting" || c.sent === 0)) {
    lines.push(line(c.id, c.sent++));
  }
  if (lines.length > 0) c.socket.write(lines.length === 1 ? lines[0] : Buffer.concat(lines));
}

function onData(c, chunk) {
  let done = 0;
  for (let at = 0; at < chunk.length;) {
    if (c.received >= c.sent) die(c.id, "reply to a request that was never sent");
    if (c.pos === 0) c.expect = line(c.id, c.received);
    const k = Math.min(LINE - c.pos, chunk.length - at);
    if (chunk.compare(c.expect, c.pos, c.pos + k, at, at + k) !== 0) {
      die(c.id, `reply to request ${c.received} differs from "${c.expect.toString("latin1")}"`);
    }
    c.pos += k;
    at += k;
    if (c.pos === LINE) {
      c.pos = 0;
      c.received++;
      done++;
    }
  }
  replies += done;
  if (done > 0 && !c.up) {
    c.up = true;
    waiting--;
    up++;
    openMore();
  }
  if (done > 0) sendMore(c);
}

function openMore() {
  while (phase === "connecting" && opened < count && waiting < MAX_CONNECTING) {
    const c = { id: opened++, sent: 0, received: 0, pos: 0, up: false, windowStart: 0 };
    c.socket = connect({ host: "127.0.0.1", port, noDelay: true }, () => sendMore(c));
    c.socket.on("data", (chunk) => onData(c, chunk));
    c.socket.on("error", (e) => die(c.id, e.message));
    c.socket.on("end", () => phase === "done" || die(c.id, "end of input from the server"));
    conns.push(c);
    waiting++;
  }
}

let windowT0 = 0;
let windowCpu0;
let windowReplies0 = 0;
const result = {};
const deadline = setTimeout(() => die(-1, `connecting timed out (${up} of ${count} up)`), 60_000);

function tick() {
  const t = performance.now();
  if (phase === "connecting" && up === count) {
    result.connect_seconds = (t - t0) / 1000;
    clearTimeout(deadline);
    phase = "warmup";
    conns.forEach(sendMore);
    setTimeout(startWindow, warmup * 1000);
    return;
  }
  setTimeout(tick, 10);
}

function startWindow() {
  phase = "measure";
  windowT0 = performance.now();
  windowCpu0 = process.cpuUsage();
  windowReplies0 = replies;
  for (const c of conns) c.windowStart = c.received;
  process.stdout.write("measure\n");
  setTimeout(endWindow, duration * 1000);
}

function endWindow() {
  const cpu = process.cpuUsage(windowCpu0);
  result.seconds = (performance.now() - windowT0) / 1000;
  result.requests = replies - windowReplies0;
  result.rps = result.requests / result.seconds;
  result.cpu_seconds = (cpu.user + cpu.system) / 1e6;
  const inWindow = conns.map((c) => c.received - c.windowStart);
  result.min_conn = Math.min(...inWindow);
  result.stalled = inWindow.filter((n) => n === 0).length;
  phase = "drain";
  setTimeout(() => die(-1, "waiting for the last replies timed out"), 10_000).unref();
  const check = () => {
    if (conns.some((c) => c.received < c.sent)) return setTimeout(check, 10);
    phase = "done";
    for (const c of conns) c.socket.destroy();
    process.stdout.write(JSON.stringify(result) + "\n");
    process.exit(0);
  };
  check();
}

openMore();
tick();
