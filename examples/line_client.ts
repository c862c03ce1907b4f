/**
 * A line client: connects to host:port, sends each line of stdin, prints each reply line,
 * and gives up after a period without any traffic.
 *
 *     deno run --allow-net examples/line_client.ts 127.0.0.1 7000 [timeoutSeconds]
 *
 * Two handles in one program: one over the socket (Handle.connect), one over stdin/stdout.
 *
 * @module
 */
import { Handle, type HandleError } from "../mod.ts";

const [hostname = "127.0.0.1", port = "7000", seconds = "10"] = Deno.args;

const stdio = new Handle({ reader: Deno.stdin, writer: Deno.stdout });
const fail = (what: string) => (_h: Handle, err: HandleError) => {
  console.error(`line_client: ${what}: ${err.code}: ${err.message}`);
  Deno.exit(1);
};

const server = Handle.connect({ hostname, port: Number(port) }, {
  timeout: Number(seconds),
  noDelay: true,
  onConnect: (_h, host, port) => console.error(`line_client: connected to ${host}:${port}`),
  onConnectError: fail("cannot connect"),
  onError: fail("connection"),
  onTimeout: (h) => {
    console.error(`line_client: no traffic for ${seconds} s, closing`);
    h.destroy();
    Deno.exit(2);
  },
  onEof: (h) => {
    h.destroy();
    stdio.destroy();
  },
});

// Replies are printed as they come.
server.onRead = (h) => {
  h.pushRead("line", (_h, line) => stdio.pushWrite(`${line}\n`));
};

// Lines typed on stdin are sent; at the end of stdin, half-close and wait for the server.
for await (const line of stdio.iterate("line")) server.pushWrite(`${line}\r\n`);
server.pushShutdown();
await server.closed.catch(() => {});
