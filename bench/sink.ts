/**
 * The discarding peer of the write benchmark (bench/write.ts): listens on 127.0.0.1 port 0,
 * prints the port, then for each connection reads into one 256 KiB buffer until end of input
 * and prints `{"bytes":N}` (connections are reported in the order they end). Runs until
 * killed, or 10 minutes at most.
 *
 * @module
 */
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log(listener.addr.port);
setTimeout(() => Deno.exit(1), 600_000);

async function discard(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(256 * 1024);
  let bytes = 0;
  try {
    for (let n; (n = await conn.read(buf)) !== null;) bytes += n;
  } finally {
    conn.close();
  }
  console.log(JSON.stringify({ bytes }));
}

for await (const conn of listener) discard(conn);
