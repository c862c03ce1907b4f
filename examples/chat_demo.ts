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
 * The server answers with lines: `* <name> joined`, `<name>: <text>`, `* <name> left`.
 *
 * @module
 */
import { Handle, type HandleError } from "../mod.ts";

const encoder = new TextEncoder();
const t0 = performance.now();

function log(who: string, text: string): void {
  const ms = (performance.now() - t0).toFixed(1).padStart(6);
  console.log(`${ms} ms  ${who.padEnd(8)} ${text}`);
}

/** The server: one Handle per client, a queue of typed reads per command. */
function serve(listener: Deno.TcpListener): Promise<void> {
  const members = new Map<Handle, string>();
  const broadcast = (line: string) => {
    for (const peer of members.keys()) peer.pushWrite(line + "\n");
  };

  const onClient = (h: Handle) =>
    new Promise<void>((done) => {
      h.onError = (_h, err: HandleError) => log("server", `error ${err.code}: ${err.message}`);
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

  return (async () => {
    const sessions = [];
    for (let i = 0; i < 2; i++) {
      const conn = await listener.accept();
      log("server", `accepted ${(conn.remoteAddr as Deno.NetAddr).hostname}`);
      // noDelay: small interactive writes should not wait for the peer's delayed ACK.
      sessions.push(onClient(new Handle(conn, { noDelay: true })));
    }
    await Promise.all(sessions);
  })();
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

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
log("demo", `listening on 127.0.0.1:${listener.addr.port}`);
const server = serve(listener);
const [alice, bob] = await Promise.all([
  client("alice", listener.addr.port, ["hi bob", "two lines:\nstill one message ✓"]),
  client("bob", listener.addr.port, ["hello alice 👋"]),
]);
await server;
listener.close();
log("demo", `alice heard ${alice.length} lines, bob heard ${bob.length} lines; done`);
if (!alice.includes("bye") || !bob.includes("bye")) Deno.exit(1);
