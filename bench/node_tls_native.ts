/**
 * A second bound of the `tls: "accept"` rows: Deno's `node:tls` run natively on the accepted
 * conn's own socket, with no Handle. Deno 2.9 implements `node:tls` as a TLSWrap in Rust that
 * attaches to a `node:net` TCP handle without any ciphertext crossing into JavaScript, and a
 * `node:net` TCP handle can be opened on a duplicate of a `Deno.Conn`'s socket. Neither step
 * has a public API: this uses `process.binding("tcp_wrap")`, the conn's internal resource id
 * and `node:net`'s internal read-buffer symbols, so it is a measurement only, never a path
 * the library takes. The plaintext is read into one reused buffer (`onread`'s way), which
 * was faster here than `'data'` events (a fresh buffer each).
 *
 * @module
 */
import process from "node:process";
import net from "node:net";
import { TLSSocket } from "node:tls";
import type { Conn, Counted } from "./readers.ts";

/** Looks up an own symbol property of `object` by its description. */
function ownSymbol(object: object, description: string): symbol {
  const found = Object.getOwnPropertySymbols(object).find((s) => s.description === description);
  if (found === undefined) throw new Error(`This Deno has no ${description} to measure with`);
  return found;
}

/**
 * Whether this Deno has the internals the measurement needs (a later one may not): the
 * `tcp_wrap` binding's `openFromRid`, `node:net`'s read-buffer symbols, and a resource id on
 * its sockets. Without them the bench leaves the row out rather than fail.
 *
 * @returns Whether `nativeNodeTlsBytes` can run.
 */
export function nativeNodeTlsAvailable(): boolean {
  try {
    // deno-lint-ignore no-explicit-any
    const { TCP } = (process as any).binding("tcp_wrap");
    if (typeof TCP?.prototype?.openFromRid !== "function") return false;
    const probe = new net.Socket({ onread: { buffer: new Uint8Array(1), callback: () => true } });
    for (const name of ["kBuffer", "kBufferCb", "kBufferGen"]) ownSymbol(probe, name);
    probe.destroy();
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      ownSymbol(listener, "Deno.internal.rid");
    } finally {
      listener.close();
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Counts the plaintext bytes of a TLS client on `conn`, playing the server with `node:tls`
 * attached natively to a duplicate of the conn's socket.
 *
 * @param conn A plain conn whose peer starts TLS.
 * @param options The server's certificate and key (PEM).
 * @returns The bytes counted.
 */
export function nativeNodeTlsBytes(
  conn: Conn,
  options: { cert: string; key: string },
): Promise<Counted> {
  const rid = (conn as unknown as Record<symbol, number>)[ownSymbol(conn, "Deno.internal.rid")];
  // deno-lint-ignore no-explicit-any
  const { TCP, constants } = (process as any).binding("tcp_wrap");
  const handle = new TCP(constants.SOCKET);
  if (handle.openFromRid(rid) !== 0) throw new Error("Cannot open a TCP handle on the conn");
  const socket = new net.Socket({ handle } as net.SocketConstructorOpts);
  const tls = new TLSSocket(socket, { isServer: true, cert: options.cert, key: options.key });
  // What `onread: { buffer, callback }` sets up, which node:tls does not pass on for a socket
  // it wraps: one buffer the plaintext is read into.
  const probe = new net.Socket({ onread: { buffer: new Uint8Array(1), callback: () => true } });
  const buffer = new Uint8Array(64 * 1024);
  let bytes = 0;
  const target = tls as unknown as Record<symbol, unknown>;
  target[ownSymbol(probe, "kBuffer")] = buffer;
  target[ownSymbol(probe, "kBufferCb")] = (n: number) => (bytes += n, true);
  target[ownSymbol(probe, "kBufferGen")] = null;
  probe.destroy();
  (tls as unknown as { _handle: { useUserBuffer(b: Uint8Array): void } })._handle
    .useUserBuffer(buffer);
  return new Promise((resolve, reject) => {
    tls.on("end", () => {
      tls.destroy();
      try {
        conn.close(); // the duplicate's original
      } catch { /* closed already */ }
      resolve({ units: bytes });
    });
    tls.on("error", reject);
  });
}
