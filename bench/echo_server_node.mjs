// The Node line echo servers of the echo benchmark (bench/echo.ts), one variant per process.
// Listens on 127.0.0.1 port 0, prints the port as its first line of stdout, and echoes every
// line of every connection until it is killed (10 minutes at most).
//
// Usage: node echo_server_node.mjs <variant>
// - data: the usual hand split on 'data' events (decode the chunk, split on "\n", carry the
//   partial last line), and one socket.write of the complete lines per 'data' event.
// - readline: readline.createInterface over the socket, socket.write(line + "\n") per 'line'.
import { createServer } from "node:net";
import { createInterface } from "node:readline";

function data(socket) {
  let rest = "";
  socket.on("data", (chunk) => {
    const lines = (rest + chunk.toString("utf8")).split("\n");
    rest = lines.pop();
    if (lines.length > 0) socket.write(lines.join("\n") + "\n");
  });
}

function readline(socket) {
  const rl = createInterface({ input: socket, crlfDelay: Infinity });
  rl.on("line", (line) => socket.write(line + "\n"));
}

const variants = { data, readline };
const variant = variants[process.argv[2]];
if (variant === undefined) {
  throw new TypeError(`usage: echo_server_node.mjs <data|readline>, got "${process.argv[2]}"`);
}
const server = createServer((socket) => {
  socket.on("error", () => socket.destroy());
  socket.on("end", () => socket.end());
  variant(socket);
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
setTimeout(() => process.exit(0), 600_000).unref(); // bounded even if the orchestrator dies
