/**
 * Loopback helpers for handle tests: a Handle on one end of a real TCP connection on
 * 127.0.0.1 (port 0), the raw Deno.TcpConn on the other.
 */
import { Handle, type HandleOptions, type Transport } from "../mod.ts";
import { concat } from "./_split.ts";

/** A handle and its raw peer; `close()` releases both and the listener. */
export interface Pair {
  h: Handle;
  peer: Deno.TcpConn;
  close(): Promise<void>;
}

/** Connects a Handle (with `options`) to a raw peer over loopback. */
export async function pair(options: HandleOptions = {}): Promise<Pair> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const peer = await accepted;
  listener.close();
  const h = new Handle(conn, options);
  return {
    h,
    peer,
    async close() {
      h.destroy();
      // The peer goes first: a handle still lingering over unsent bytes then stops at once.
      try {
        peer.close();
      } catch { /* closed by the test */ }
      await h.closed.catch(() => {});
    },
  };
}

/** Writes all of `data` (a string is UTF-8). */
export async function writeAll(conn: Deno.Conn, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** Reads until end of input. */
export async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
  return concat(...chunks);
}

/** Waits `ms` milliseconds. */
export function tick(ms = 1): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its settle functions outside. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The line-echoing child process of tests/fixtures/echo_child.ts, stdin and stdout piped. */
export function spawnEchoChild(): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", new URL("./fixtures/echo_child.ts", import.meta.url).pathname],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** Two ends of a loopback TCP connection; `done()` closes the peer. */
export async function connected(): Promise<
  { conn: Deno.TcpConn; peer: Deno.TcpConn; done(): void }
> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const peer = await accepted;
  listener.close();
  return { conn, peer, done: () => peer.close() };
}

/**
 * A real conn as a transport whose writes (their sizes) and socket-option calls are recorded
 * on the way through: for tests that count what reaches the socket, not how fast.
 */
export function recording(
  conn: Deno.TcpConn,
): { transport: Transport; writes: number[]; options: string[] } {
  const writes: number[] = [];
  const options: string[] = [];
  const transport: Transport = {
    read: (p) => conn.read(p),
    write: (p) => {
      writes.push(p.length);
      return conn.write(p);
    },
    closeWrite: () => conn.closeWrite(),
    close: () => conn.close(),
    setNoDelay: (on) => {
      options.push(`noDelay=${on}`);
      conn.setNoDelay(on);
    },
    setKeepAlive: (on) => {
      options.push(`keepalive=${on}`);
      conn.setKeepAlive(on);
    },
  };
  return { transport, writes, options };
}
