// Node baseline for bench/main.ts: a hand-written netstring parser as one writes it for Node's
// 'data' events. The bytes left of a partial frame are carried (joined to the next chunk with
// Buffer.concat), each payload is a view of its chunk (`subarray`, no copy), and the header is
// parsed digit by digit. Listens on 127.0.0.1 port 0, prints the port, counts the netstrings of
// one connection and prints {lines, chars, seconds} (records and payload bytes).
import { createServer } from "node:net";

const COLON = 0x3a;
const COMMA = 0x2c;

const server = createServer((socket) => {
  let records = 0;
  let bytes = 0;
  let rest = null;
  let t0 = 0;
  socket.on("data", (chunk) => {
    if (t0 === 0) t0 = performance.now();
    const buf = rest === null ? chunk : Buffer.concat([rest, chunk]);
    let at = 0;
    for (;;) {
      let i = at;
      let length = 0;
      while (i < buf.length && buf[i] !== COLON) length = length * 10 + buf[i++] - 0x30;
      const start = i + 1;
      const end = start + length;
      if (i === buf.length || end >= buf.length) break;
      if (buf[end] !== COMMA) throw new Error(`netstring not followed by "," at ${end}`);
      const payload = buf.subarray(start, end);
      records++;
      bytes += payload.length;
      at = end + 1;
    }
    rest = at === buf.length ? null : buf.subarray(at);
  });
  socket.on("end", () => {
    const seconds = (performance.now() - t0) / 1000;
    process.stdout.write(JSON.stringify({ lines: records, chars: bytes, seconds }) + "\n");
    server.close();
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
