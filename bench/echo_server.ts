/**
 * The Deno line echo servers of the echo benchmark (bench/echo.ts), one variant per process.
 * Listens on 127.0.0.1 port 0, prints the port as its first line of stdout, and echoes every
 * line of every connection until it is killed (10 minutes at most). The library comes from
 * `BENCH_LIB` (see bench/lib.ts); only its public API is used.
 *
 * Usage: echo_server.ts <variant> [<cert.pem> <key.pem>]
 * - `raw`: no library; `conn.read()` into a 4 KiB buffer (twice the most a load generator
 *   with 32 lines in flight can send; the Handle starts at 2 KiB), complete lines found with
 *   `indexOf`, and written back undecoded, one write per read.
 * - `perRead`: no library; the hand-written string server: one `decode` per read, the lines
 *   sliced from it, the replies joined and encoded once per read, one write per read.
 * - `pushRead`: `h.pushRead("line", cb)`, re-pushed from its own callback, which does
 *   `h.pushWrite(line + "\n")`.
 * - `iterate`: `for await (const line of h.iterate("line")) h.pushWrite(line + "\n")`.
 * - `onRead`: `onRead` decodes every buffered line with one `lineDecoder()` and pushes each.
 *
 * With a certificate and key, those five serve TLS: the listener is `Deno.listenTls`, and each
 * variant gets its `Deno.TlsConn` (a Handle made over one runs on it directly). Two more
 * variants need them, both in the `iterate` style:
 * - `serveNative`: `Handle.serve({ nativeTls: true, handle: { tls: "accept", tlsOptions } })`,
 *   the library's own accept loop on `Deno.listenTls`.
 * - `iterateLayer`: a plain `Deno.listen` conn and a Handle with `tls: "accept"`, which runs
 *   the session through the `node:tls` layer (the only server path before native TLS).
 *
 * Handles use default options. A connection that ends, cleanly or not, is closed quietly;
 * any other error is printed on stderr.
 *
 * @module
 */
import type { Handle, HandleError } from "../mod.ts";
import { loadLib } from "./lib.ts";

const RAW_BUFFER = 4096;
const variant = Deno.args[0];
const lib = await loadLib();

/** Errors that only mean the load generator went away. */
function quiet(e: unknown): boolean {
  const code = (e as Partial<HandleError>).code;
  return code === "EPIPE" || code === "ECONNRESET" || code === "ECANCELED" ||
    e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe;
}

function report(e: unknown): void {
  if (!quiet(e)) console.error(`echo_server ${variant}:`, e);
}

const onError = (h: Handle, e: HandleError) => {
  report(e);
  h.destroy();
};

/**
 * The library-free servers' loop: reads into one buffer, hands the complete lines to `reply`
 * (which returns the bytes to write back), writes them, and keeps the partial line.
 */
async function lineLoop(conn: Deno.Conn, reply: (lines: Uint8Array) => Uint8Array): Promise<void> {
  const buf = new Uint8Array(RAW_BUFFER);
  let have = 0;
  try {
    for (let n; (n = await conn.read(buf.subarray(have))) !== null;) {
      have += n;
      const end = buf.subarray(0, have).lastIndexOf(0x0a) + 1;
      if (end > 0) {
        const out = reply(buf.subarray(0, end));
        for (let at = 0; at < out.length;) at += await conn.write(out.subarray(at));
      }
      buf.copyWithin(0, end, have);
      have -= end;
      if (have === buf.length) throw new RangeError(`Line exceeds ${RAW_BUFFER} bytes`);
    }
  } catch (e) {
    report(e);
  } finally {
    conn.close();
  }
}

/** The raw loop: the complete lines written back as they were read, undecoded. */
function raw(conn: Deno.Conn): Promise<void> {
  return lineLoop(conn, (lines) => lines);
}

/**
 * The hand-written string server: what a string API can reach on Deno. Per read, one
 * `TextDecoder.decode` of the complete lines, the lines sliced from that string, the replies
 * joined and encoded once with one `encodeInto`, one write.
 */
function perRead(conn: Deno.Conn): Promise<void> {
  const out = new Uint8Array(RAW_BUFFER * 3);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  return lineLoop(conn, (lines) => {
    const text = decoder.decode(lines);
    let replies = "";
    for (let at = 0, nl; (nl = text.indexOf("\n", at)) !== -1; at = nl + 1) {
      replies += text.slice(at, nl) + "\n"; // a string per line, as a user gets
    }
    return out.subarray(0, encoder.encodeInto(replies, out).written);
  });
}

function pushRead(conn: Deno.Conn): void {
  const h = new lib.Handle(conn, { onError });
  const onLine = (h: Handle, line: string) => {
    h.pushWrite(line + "\n");
    h.pushRead("line", onLine);
  };
  h.pushRead("line", onLine);
}

/** The `iterate` style over a handle, which is destroyed when its input ends. */
async function iterateOn(h: Handle): Promise<void> {
  try {
    for await (const line of h.iterate("line")) h.pushWrite(line + "\n");
    await h.drain();
  } catch (e) {
    report(e);
  } finally {
    h.destroy();
  }
}

function iterate(conn: Deno.Conn): Promise<void> {
  return iterateOn(new lib.Handle(conn, { onError }));
}

/** `iterate("lines")`: a run of lines per step, answered with one write of the joined replies. */
async function iterateRuns(conn: Deno.Conn): Promise<void> {
  const h = new lib.Handle(conn, { onError });
  try {
    for await (const run of h.iterate("lines")) {
      let replies = "";
      for (let i = 0; i < run.length; i++) replies += run[i] + "\n";
      h.pushWrite(replies);
    }
    await h.drain();
  } catch (e) {
    report(e);
  } finally {
    h.destroy();
  }
}

function onRead(conn: Deno.Conn): void {
  const decoder = lib.lineDecoder();
  new lib.Handle(conn, {
    onRead(h) {
      for (let v; (v = decoder.decode(h.rbuf)) !== lib.NEED_MORE;) h.pushWrite(v[0] + "\n");
    },
    onEof: (h) => h.destroy(),
    onError,
  });
}

const serve: Record<string, (conn: Deno.Conn) => void> = {
  raw,
  perRead,
  pushRead,
  iterate,
  iterateRuns,
  onRead,
};
const [certFile, keyFile] = Deno.args.slice(1);
const tlsOptions = certFile === undefined || keyFile === undefined
  ? undefined
  : { cert: Deno.readTextFileSync(certFile), key: Deno.readTextFileSync(keyFile) };
const hostname = "127.0.0.1";
setTimeout(() => Deno.exit(0), 600_000); // bounded even if the orchestrator dies

if (tlsOptions !== undefined && variant === "serveNative") {
  const server = lib.Handle.serve(
    { hostname, port: 0, nativeTls: true, handle: { tls: "accept", tlsOptions, onError } },
    iterateOn,
  );
  console.log(server.addr.port);
} else if (tlsOptions !== undefined && variant === "iterateLayer") {
  const listener = Deno.listen({ hostname, port: 0 });
  console.log(listener.addr.port);
  for await (const conn of listener) {
    iterateOn(new lib.Handle(conn, { tls: "accept", tlsOptions, onError }));
  }
} else {
  const handler = serve[variant];
  if (handler === undefined) {
    const names = [...Object.keys(serve), "serveNative", "iterateLayer"].join("|");
    throw new TypeError(`usage: echo_server.ts <${names}> [cert key], got "${variant}"`);
  }
  const listener = tlsOptions === undefined
    ? Deno.listen({ hostname, port: 0 })
    : Deno.listenTls({ hostname, port: 0, ...tlsOptions });
  console.log(listener.addr.port);
  for await (const conn of listener) handler(conn);
}
