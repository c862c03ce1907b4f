/**
 * Real peer servers (redis-server, memcached, ...) started by tests on a free loopback port.
 */

/** A free TCP port on 127.0.0.1 (bound on port 0, then released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** A peer server that was started: its port, and how to stop it (returns its output). */
export interface PeerServer {
  port: number;
  stop(): Promise<string>;
}

/** How to start one kind of peer server. */
export interface PeerSpec {
  /** The program's name for messages, and what to install if it is missing. */
  name: string;
  /** The program to run. */
  program: string;
  /** Its arguments for a port. */
  args(port: number): string[];
  /** Whether the server answers on `port` yet. */
  answers(port: number): Promise<boolean>;
  /** Milliseconds between two tries of `answers`. */
  poll?: number;
}

/**
 * Starts a server on a free loopback port and waits until it answers; tries another port if
 * the one picked was taken in the meantime. The server is stopped with SIGTERM.
 *
 * @param spec The server.
 * @returns The running server.
 */
export async function startPeer(spec: PeerSpec): Promise<PeerServer> {
  let lastOutput = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(spec.program, {
        args: spec.args(port),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      throw new Error(`This test needs ${spec.name}: apt-get install ${spec.name}`);
    }
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
      if (await spec.answers(port)) return { port, stop };
      await new Promise((resolve) => setTimeout(resolve, spec.poll ?? 25));
    }
    lastOutput = await stop();
    if (!/already in use/i.test(lastOutput)) break;
  }
  throw new Error(`${spec.name} did not start:\n${lastOutput}`);
}
