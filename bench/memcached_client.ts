/**
 * The Handle side of the memcached benchmark (bench/memcached.ts), in a process of its own:
 * one connection to memcached, batches of `depth` GETs of one key written with a
 * `lengthField` write type and their responses read with `iterate` over the same codec, each
 * checked (magic, status, value length). Counts the GETs answered in a window after a
 * warm-up, and prints `{ gets, seconds }` as JSON.
 *
 * Usage: memcached_client.ts <port> <key> <valueLength> <depth> <windowSeconds> <warmupSeconds>
 *
 * @module
 */
import { loadLib } from "./lib.ts";

const [port, key, valueLength, depth, window, warmup] = Deno.args;
const lib = await loadLib();
const frame = lib.lengthField({ offset: 8, size: 4, adjust: 12 });
const keyBytes = new TextEncoder().encode(key);
const header = Uint8Array.of(0x80, 0x00, keyBytes.length >> 8, keyBytes.length & 255, 0, 0, 0, 0);
const body = new Uint8Array(12 + keyBytes.length); // opaque, CAS, key
body.set(keyBytes, 12);
const expected = 24 + 4 + Number(valueLength); // header, flags, value
const n = Number(depth);

const h = new lib.Handle(await Deno.connect({ hostname: "127.0.0.1", port: Number(port) }), {
  noDelay: true,
});
const responses = h.iterate(frame)[Symbol.asyncIterator]();
const started = performance.now();
const measureFrom = started + Number(warmup) * 1000;
const end = measureFrom + Number(window) * 1000;
let gets = 0;
let measuring = false;
let measuredFrom = 0;
for (;;) {
  const now = performance.now();
  if (!measuring && now >= measureFrom) {
    measuring = true;
    measuredFrom = now;
    gets = 0;
  }
  if (now >= end) break;
  for (let i = 0; i < n; i++) h.pushWrite(frame, header, body);
  for (let i = 0; i < n; i++) {
    const { value, done } = await responses.next();
    if (done) throw new Error("memcached closed the connection");
    if (value[0] !== 0x81 || value[6] !== 0 || value[7] !== 0 || value.length !== expected) {
      throw new Error(`unexpected response: ${value.subarray(0, 24)}`);
    }
  }
  gets += n;
}
const seconds = (performance.now() - measuredFrom) / 1000;
console.log(JSON.stringify({ gets, seconds }));
h.destroy();
await h.closed.catch(() => {});
