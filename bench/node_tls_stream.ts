/**
 * The bound of the `tls: "accept"` rows: `node:tls` as the server over a JavaScript stream on
 * a plain `Deno.Conn`, with no Handle: every ciphertext byte read by `conn.read()`, pushed
 * into a `Duplex`, decrypted by Deno's `node:tls` and handed back as `'data'` buffers, which
 * are only counted. Deno has no API to start the server side of TLS on an open conn natively
 * (`Deno.startTls` is client-only), so this is as fast as that role gets.
 *
 * @module
 */
import { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import type { Conn, Counted } from "./readers.ts";

/**
 * Counts the plaintext bytes of a TLS client on `conn`, playing the server through
 * `node:tls` over a stream of the conn's reads.
 *
 * @param conn A plain conn whose peer starts TLS.
 * @param options The server's certificate and key (PEM).
 * @returns The bytes counted.
 */
export function nodeTlsBytes(conn: Conn, options: { cert: string; key: string }): Promise<Counted> {
  let reading = false;
  const duplex = new Duplex({
    read() {
      if (reading) return;
      reading = true;
      const pump = async () => {
        for (;;) {
          const buf = new Uint8Array(64 * 1024);
          let n: number | null;
          try {
            n = await conn.read(buf);
          } catch {
            n = null;
          }
          if (n === null) return void duplex.push(null);
          if (!duplex.push(buf.subarray(0, n))) return void (reading = false);
        }
      };
      pump();
    },
    write(chunk: Uint8Array, _encoding, done) {
      (async () => {
        for (let at = 0; at < chunk.length;) at += await conn.write(chunk.subarray(at));
      })().then(() => done(), done);
    },
  });
  const socket = new TLSSocket(duplex, { isServer: true, cert: options.cert, key: options.key });
  return new Promise((resolve, reject) => {
    let bytes = 0;
    socket.on("data", (b: Uint8Array) => bytes += b.length);
    socket.on("end", () => {
      socket.destroy();
      try {
        conn.close();
      } catch { /* closed already */ }
      resolve({ units: bytes });
    });
    socket.on("error", reject);
  });
}
