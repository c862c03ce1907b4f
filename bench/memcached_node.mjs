// The Node side of the memcached benchmark (bench/memcached.ts): node:net and a hand-written
// parser of memcached's binary responses (24-byte header, total body length at offset 8),
// doing what bench/memcached_client.ts does: batches of `depth` GETs of one key, each request
// built into its own Buffer and written between cork() and uncork(), each response checked
// (magic, status, value length). Prints { gets, seconds } as JSON.
//
// Usage: node memcached_node.mjs <port> <key> <valueLength> <depth> <windowSeconds> <warmupSeconds>
import { connect } from "node:net";

const [port, key, valueLength, depth, window, warmup] = process.argv.slice(2);
const keyBytes = Buffer.from(key);
const expected = 24 + 4 + Number(valueLength);
const n = Number(depth);

function request() {
  const buf = Buffer.allocUnsafe(24 + keyBytes.length);
  buf[0] = 0x80;
  buf[1] = 0x00; // GET
  buf.writeUInt16BE(keyBytes.length, 2);
  buf.writeUInt32BE(0, 4); // extras length, data type, vbucket
  buf.writeUInt32BE(keyBytes.length, 8); // total body
  buf.fill(0, 12, 24); // opaque, CAS
  keyBytes.copy(buf, 24);
  return buf;
}

const socket = connect(Number(port), "127.0.0.1");
socket.setNoDelay(true);
const started = performance.now();
const measureFrom = started + Number(warmup) * 1000;
const end = measureFrom + Number(window) * 1000;
let gets = 0;
let measuring = false;
let measuredFrom = 0;
let pending = 0;
let rest = null; // bytes of an incomplete response

function send() {
  const now = performance.now();
  if (!measuring && now >= measureFrom) {
    measuring = true;
    measuredFrom = now;
    gets = 0;
  }
  if (now >= end) {
    const seconds = (performance.now() - measuredFrom) / 1000;
    process.stdout.write(`${JSON.stringify({ gets, seconds })}\n`);
    socket.destroy();
    return;
  }
  socket.cork();
  for (let i = 0; i < n; i++) socket.write(request());
  socket.uncork();
  pending = n;
}

socket.on("connect", send);
socket.on("data", (chunk) => {
  const buf = rest === null ? chunk : Buffer.concat([rest, chunk]);
  let at = 0;
  while (buf.length - at >= 24) {
    const total = 24 + buf.readUInt32BE(at + 8);
    if (buf.length - at < total) break;
    if (buf[at] !== 0x81 || buf.readUInt16BE(at + 6) !== 0 || total !== expected) {
      throw new Error(`unexpected response: ${buf.subarray(at, at + 24).toString("hex")}`);
    }
    at += total;
    gets++;
    if (--pending === 0) send();
  }
  rest = at === buf.length ? null : buf.subarray(at);
});
socket.on("error", (e) => {
  console.error(e);
  process.exit(1);
});
setTimeout(() => process.exit(1), 600_000).unref();
