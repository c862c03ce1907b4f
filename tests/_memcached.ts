/**
 * A memcached of its own for a test or a benchmark: binary protocol only (`-B binary`), on a
 * loopback port that was free a moment ago, UDP off, as root (`-u root`, which memcached
 * needs to be told). Another process may take the port between the probe and memcached's
 * bind: then memcached exits saying so, and another port is tried.
 */
import { MemcachedClient } from "../examples/memcached.ts";
import { type PeerServer, startPeer } from "./_peer_server.ts";

/** A running memcached: its port, and `stop()` (which returns what it printed). */
export type Memcached = PeerServer;

/** The memcached binary: on PATH, or where Debian puts it. */
function binary(): string {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat("/usr/bin")) {
    try {
      if (Deno.statSync(`${dir}/memcached`).isFile) return `${dir}/memcached`;
    } catch { /* not there */ }
  }
  throw new Error("This test needs memcached: apt-get install memcached (.ci/run does)");
}

/** Whether a binary-protocol NOOP is answered on 127.0.0.1:`port`. */
async function answers(port: number): Promise<boolean> {
  let client: MemcachedClient | undefined;
  try {
    client = await MemcachedClient.connect("127.0.0.1", port);
    await client.noop();
    return true;
  } catch {
    return false;
  } finally {
    await client?.close().catch(() => {});
  }
}

/**
 * Starts memcached and waits until it answers a NOOP.
 *
 * @param extra More arguments (`-t 1`, a memory limit ...).
 * @returns The server.
 */
export function startMemcached(extra: string[] = []): Promise<Memcached> {
  return startPeer({
    name: "memcached",
    program: binary(),
    args: (port) => [
      ...["-B", "binary", "-l", "127.0.0.1", "-p", String(port), "-U", "0", "-u", "root"],
      ...extra,
    ],
    answers,
  });
}
