/**
 * The benchmark's producer: connects to 127.0.0.1:<port> and writes a fixed pattern as fast as
 * it can, then closes. Run by bench/main.ts as a child process.
 *
 * Usage: producer.ts <port> <record> <totalBytes> [<caFile>]
 *    or: producer.ts listen-tls <record> <totalBytes> <certFile> <keyFile>
 * record: a line length (lines of exactly that many bytes ending in "\n"), 0 (arbitrary
 * bytes), "netstring:<n>" (netstrings of n-byte payloads) or "json:<n>" (JSON objects of
 * exactly n bytes, no separator). totalBytes is rounded down to a whole pattern.
 * caFile: connect with TLS (`Deno.connectTls` to "localhost", trusting only this PEM CA)
 * instead of plain TCP; then the end is close_notify, and the server's bytes (session
 * tickets) are read to its end of input before closing, so the close is never a reset (the
 * server may end without close_notify: its count is already made).
 * listen-tls: be the TLS server instead (`Deno.listenTls` on 127.0.0.1, a free port printed
 * on stdout), for the client-role rows: the first connection gets the pattern.
 */
const listen = Deno.args[0] === "listen-tls";
const [port, total] = [listen ? 0 : Number(Deno.args[0]), Number(Deno.args[2])];
const record = Deno.args[1] ?? "";
const caFile = listen ? undefined : Deno.args[3];
if (
  !(listen || port > 0) || !(total >= 0) || !/^(\d+|(netstring|json):\d+)$/.test(record) ||
  Deno.args.length > (listen ? 5 : 4) || (listen && Deno.args.length < 5)
) {
  throw new TypeError(
    "usage: producer.ts <port> <record> <totalBytes> [<caFile>] | " +
      `listen-tls <record> <totalBytes> <certFile> <keyFile>, got ${Deno.args}`,
  );
}

function pattern(lineLength: number): Uint8Array {
  const size = 256 * 1024;
  if (lineLength === 0) return Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) & 0xff);
  const lines = Math.max(1, Math.floor(size / lineLength));
  const out = new Uint8Array(lines * lineLength);
  for (let i = 0; i < out.length; i++) {
    out[i] = i % lineLength === lineLength - 1 ? 0x0a : 0x61 + (i % 26);
  }
  return out;
}

/** `count` copies of one record, filling about 256 KiB. */
function repeat(one: string): Uint8Array {
  const bytes = new TextEncoder().encode(one);
  const count = Math.max(1, Math.floor((256 * 1024) / bytes.length));
  const out = new Uint8Array(count * bytes.length);
  for (let i = 0; i < count; i++) out.set(bytes, i * bytes.length);
  return out;
}

/** A JSON object of exactly `size` bytes. */
function jsonRecord(size: number): string {
  const base = JSON.stringify({ id: 1, name: "" });
  return JSON.stringify({ id: 1, name: "x".repeat(Math.max(0, size - base.length)) });
}

const [kind, size] = record.includes(":") ? record.split(":") : ["lines", record];
const buf = kind === "netstring"
  ? repeat(`${size}:${"n".repeat(Number(size))},`)
  : kind === "json"
  ? repeat(jsonRecord(Number(size)))
  : pattern(Number(size));
/** Listens with TLS, says the port on stdout, and takes the first connection. */
async function acceptTls(): Promise<Deno.TlsConn> {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: Deno.readTextFileSync(Deno.args[3]),
    key: Deno.readTextFileSync(Deno.args[4]),
  });
  console.log(listener.addr.port);
  const conn = await listener.accept();
  listener.close();
  return conn;
}

const conn: Deno.TcpConn | Deno.TlsConn = listen
  ? await acceptTls()
  : caFile === undefined
  ? await Deno.connect({ hostname: "127.0.0.1", port })
  : await Deno.connectTls({
    hostname: "localhost",
    port,
    caCerts: [Deno.readTextFileSync(caFile)],
  });
const rounds = Math.floor(total / buf.length);
for (let r = 0; r < rounds; r++) {
  for (let at = 0; at < buf.length;) at += await conn.write(at === 0 ? buf : buf.subarray(at));
}
if (caFile !== undefined || listen) {
  await conn.closeWrite(); // close_notify, then FIN
  const sink = new Uint8Array(16 * 1024);
  try {
    while (await conn.read(sink) !== null);
  } catch (e) {
    // All was sent: a server that closes without close_notify (a destroyed Handle) is fine.
    if (!(e instanceof Deno.errors.UnexpectedEof || e instanceof Deno.errors.ConnectionReset)) {
      throw e;
    }
  }
}
conn.close();
