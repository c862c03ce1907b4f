/**
 * A live demo over loopback: a chat server and two clients in one process, printed as a
 * transcript. Run it with `deno task demo`.
 *
 * The protocol mixes read types on one connection:
 *
 * ```text
 * NICK <name>\n                 a line
 * SAY <n>\n<n bytes of UTF-8>   a line announcing a length, then a chunk of that length
 * QUIT\n                        a line; the server half-closes, the client reads to the end
 * ```
 *
 * The server answers with lines: `* <name> joined`, `<name>: <text>`, `* <name> left`. It is
 * a `Handle.serve` server on a free port; once both clients are done, `server.shutdown(5)`
 * stops accepting and waits for their sessions to close.
 *
 * @module
 */
import { type AddressedHandle, Handle, type HandleError, type HandleServer } from "../mod.ts";

const encoder = new TextEncoder();
const t0 = performance.now();

function log(who: string, text: string): void {
  const ms = (performance.now() - t0).toFixed(1).padStart(6);
  console.log(`${ms} ms  ${who.padEnd(8)} ${text}`);
}

/**
 * The server: `Handle.serve` makes one Handle per client and calls `onClient` with it; each
 * client gets a queue of typed reads, one per command.
 */
function startServer(): HandleServer<Handle, Deno.NetAddr> {
  const members = new Map<Handle, string>();
  const broadcast = (line: string) => {
    for (const peer of members.keys()) peer.pushWrite(line + "\n");
  };

  const onClient = (h: AddressedHandle<Deno.NetAddr>) =>
    new Promise<void>((done) => {
      log("server", `accepted ${h.remoteAddr.hostname}`);
      h.onEof = (h) => {
        h.destroy();
        done();
      };
      const command = (h: Handle, line: string) => {
        const [verb, arg = ""] = line.split(" ", 2);
        log("server", `<- ${JSON.stringify(line)}`);
        if (verb === "NICK") {
          members.set(h, arg);
          broadcast(`* ${arg} joined`);
        } else if (verb === "SAY") {
          // The payload may contain newlines: read it as exactly `arg` bytes, ahead of the
          // next command.
          h.unshiftRead("chunk", Number(arg), (_h, bytes) => {
            const text = new TextDecoder().decode(bytes);
            log("server", `<- ${bytes.length} bytes of payload`);
            broadcast(`${members.get(h)}: ${text.replaceAll("\n", " / ")}`);
          });
        } else if (verb === "QUIT") {
          const name = members.get(h);
          members.delete(h);
          broadcast(`* ${name} left`);
          h.pushWrite("bye\n");
          h.pushShutdown();
          return;
        }
        h.pushRead("line", command);
      };
      h.pushRead("line", command);
    });

  return Handle.serve({
    hostname: "127.0.0.1",
    port: 0,
    handle: {
      // noDelay: small interactive writes should not wait for the peer's delayed ACK.
      noDelay: true,
      onError: (_h, err: HandleError) => log("server", `error ${err.code}: ${err.message}`),
    },
  }, (h) => onClient(h));
}

/** A client: writes are queued at once, replies are read with the promise API. */
async function client(name: string, port: number, messages: string[]): Promise<string[]> {
  const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }), { noDelay: true });
  const heard: string[] = [];
  h.pushWrite(`NICK ${name}\n`);
  const reader = (async () => {
    for await (const line of h.iterate("line")) {
      heard.push(line);
      log(name, `-> ${JSON.stringify(line)}`);
    }
  })();
  for (const text of messages) {
    await new Promise((r) => setTimeout(r, 20));
    const payload = encoder.encode(text);
    h.pushWrite(`SAY ${payload.length}\n`);
    h.pushWrite(payload);
  }
  await new Promise((r) => setTimeout(r, 40));
  h.pushWrite("QUIT\n");
  await reader;
  h.destroy();
  await h.closed;
  return heard;
}

const server = startServer();
const { port } = server.addr;
log("demo", `listening on 127.0.0.1:${port}`);
const [alice, bob] = await Promise.all([
  client("alice", port, ["hi bob", "two lines:\nstill one message ✓"]),
  client("bob", port, ["hello alice 👋"]),
]);
// Both clients are done: stop accepting, and wait for the two sessions to see their end.
await server.shutdown(5);
log("demo", `alice heard ${alice.length} lines, bob heard ${bob.length} lines; done`);
if (!alice.includes("bye") || !bob.includes("bye")) Deno.exit(1);
