/**
 * A memcached of its own for a test or a benchmark: binary protocol only (`-B binary`), on a
 * loopback port that was free a moment ago, UDP off, as root (`-u root`, which memcached
 * needs to be told). Another process may take the port between the probe and memcached's
 * bind: then memcached exits saying so, and another port is tried.
 */
import { MemcachedClient } from "../examples/memcached.ts";

/** A running memcached: its port, and `stop()` (which returns what it printed). */
export interface Memcached {
  port: number;
  stop(): Promise<string>;
}

/** The memcached binary: on PATH, or where Debian puts it. */
function binary(): string {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat("/usr/bin")) {
    try {
      if (Deno.statSync(`${dir}/memcached`).isFile) return `${dir}/memcached`;
    } catch { /* not there */ }
  }
  throw new Error("This test needs memcached: apt-get install memcached (.ci/run does)");
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
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
export async function startMemcached(extra: string[] = []): Promise<Memcached> {
  const path = binary();
  let lastOutput = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    const child = new Deno.Command(path, {
      args: [
        "-B",
        "binary",
        "-l",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "0",
        "-u",
        "root",
        ...extra,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = Promise.all([child.stdout, child.stderr].map((s) => new Response(s).text()));
    let exited = false;
    const status = child.status.finally(() => exited = true);
    const stop = async () => {
      if (!exited) child.kill("SIGTERM");
      await status;
      return (await output).join("");
    };
    const deadline = Date.now() + 20_000;
    while (!exited && Date.now() < deadline) {
      if (await answers(port)) return { port, stop };
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    lastOutput = await stop();
    if (!/already in use/i.test(lastOutput)) break;
  }
  throw new Error(`memcached did not start:\n${lastOutput}`);
}
