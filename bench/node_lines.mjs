// Node baseline for bench/main.ts: the usual Node line splitting (a 'data' listener, decode
// each chunk, split on "\n", carry the partial last line). Listens on 127.0.0.1 port 0,
// prints the port, counts the lines of one connection and prints {lines, seconds}.
import { createServer } from "node:net";

const server = createServer((socket) => {
  let lines = 0;
  let chars = 0;
  let rest = "";
  let t0 = 0;
  socket.on("data", (chunk) => {
    if (t0 === 0) t0 = performance.now();
    const parts = (rest + chunk.toString("utf8")).split("\n");
    rest = parts.pop();
    for (const line of parts) {
      lines++;
      chars += line.length;
    }
  });
  socket.on("end", () => {
    const seconds = (performance.now() - t0) / 1000;
    process.stdout.write(JSON.stringify({ lines, chars, seconds }) + "\n");
    server.close();
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
