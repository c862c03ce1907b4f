/**
 * Scaling out on one machine: several processes serve one TCP port, and the kernel spreads the
 * connections over them (`SO_REUSEPORT`, Linux).
 *
 *     deno run --allow-net --allow-run --allow-read examples/workers.ts [N] [port]
 *
 * The parent starts `N` worker processes (default 2) of this same script with `--worker`; each
 * runs `Handle.serve({ hostname: "127.0.0.1", port, reusePort: true }, ...)` on the same port
 * and answers a line `whoami` with its pid, and any other line with the line itself. Without a
 * port (or with 0), the first worker listens on a free one and the others join it, so no port
 * is ever guessed. The parent then makes a batch of connections, prints which pids answered
 * and how often, and stops the workers by closing their stdin: each shuts its server down
 * (letting open connections finish), reports how many connections it served, and exits. A
 * worker also stops on SIGINT or SIGTERM, and when the parent dies, since its stdin closes
 * then too: no worker outlives the parent.
 *
 * Workers talk to the parent over their stdin and stdout, through a handle on each side
 * (`Handle.fromStreams` over the child's pipes in the parent, `{ reader: Deno.stdin, writer:
 * Deno.stdout }` in the worker):
 *
 * ```text
 * worker -> parent   ready <pid> <port>\n           listening
 * parent -> worker   stop\n, or end of input         shut down
 * worker -> parent   stopped <pid> <served>\n        shut down; exits 0 next
 * ```
 *
 * `reusePort` is still an unstable API in Deno 2.9 (without `--unstable-net`, `Deno.listen`
 * ends the process), so the parent starts its workers with `--unstable-net`; it does not need
 * the flag itself. Across machines, put a TCP balancer in front instead (HAProxy, NGINX, a
 * cloud balancer) and serve with `proxy: true`, which reads the PROXY protocol header the
 * balancer sends so that `h.remoteAddr` is still the client's.
 *
 * The module exports {@linkcode spawnWorker} and {@linkcode whoami}, which the parent uses
 * and `tests/workers.test.ts` tests.
 *
 * @module
 */
import { Handle, type HandleError } from "../mod.ts";

/** The only address the workers listen on. */
const HOSTNAME = "127.0.0.1";

/** How a worker ended, as {@linkcode WorkerProcess.stop} reports it. */
export interface WorkerExit {
  /** The process's exit status. */
  status: Deno.CommandStatus;
  /** The connections it served, from its `stopped` line (-1 if it said none). */
  served: number;
}

/** A running worker process. */
export interface WorkerProcess {
  /** Its process id (the one it answers `whoami` with). */
  readonly pid: number;
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number;
  /**
   * Asks it to stop (closes its stdin), waits for it to exit, and kills it if it has not
   * exited within `graceSeconds`. Calling it again returns the same promise.
   */
  stop(graceSeconds?: number): Promise<WorkerExit>;
}

/**
 * Starts a worker process of this script listening on `port` with `reusePort`, and waits until
 * it listens.
 *
 * @param port The port to share, or 0 for a free one (read it back from `port`).
 * @param readySeconds How long to wait for it to listen.
 * @returns The running worker.
 * @throws {Error} If it exits, or does not listen within `readySeconds`; it is killed then.
 */
export async function spawnWorker(port: number, readySeconds = 30): Promise<WorkerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-net",
      `--allow-net=${HOSTNAME}`,
      import.meta.url,
      "--worker",
      String(port),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // The worker's stdout is our input, its stdin our output; its exit is our end of input, and
  // a write to it after it died fails the read we are waiting on, if any.
  const control = Handle.fromStreams(child.stdout, child.stdin, {
    onEof: () => {},
    onError: () => {},
  });
  const late = new AbortController();
  const timer = setTimeout(() => late.abort(), readySeconds * 1000);
  let ready: string[];
  try {
    ready = (await control.read("line", { signal: late.signal })).split(" ");
    if (ready.length !== 3 || ready[0] !== "ready") {
      throw new Error(`it said ${JSON.stringify(ready.join(" "))}`);
    }
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* it has exited */ }
    const status = await child.status;
    control.destroy();
    await control.closed.catch(() => {});
    const why = late.signal.aborted
      ? `it did not listen within ${readySeconds} s`
      : e instanceof Error
      ? e.message
      : String(e);
    throw new Error(`Cannot start a worker on port ${port}: ${why} (exit code ${status.code})`);
  } finally {
    clearTimeout(timer);
  }
  const [, pid, listening] = ready.map(Number);
  let stopped: Promise<WorkerExit> | undefined;
  const stop = async (graceSeconds: number): Promise<WorkerExit> => {
    control.pushShutdown();
    const kill = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* exited meanwhile */ }
    }, graceSeconds * 1000);
    let served = -1;
    try {
      for await (const line of control.iterate("line")) {
        const [word, , count] = line.split(" ");
        if (word === "stopped") served = Number(count);
      }
    } catch { /* killed: its stdout ended mid-line */ }
    const status = await child.status;
    clearTimeout(kill);
    control.destroy();
    await control.closed.catch(() => {});
    return { status, served };
  };
  return {
    pid,
    port: listening,
    stop: (graceSeconds = 10) => stopped ??= stop(graceSeconds),
  };
}

/**
 * Connects to `port` on 127.0.0.1, asks `whoami`, checks that another line is echoed, and
 * closes.
 *
 * @param port The workers' port.
 * @returns The pid of the worker that answered.
 * @throws {HandleError} If the connection fails or gives no answer within 10 s.
 * @throws {Error} If the answers are not a pid and the echo.
 */
export async function whoami(port: number): Promise<number> {
  const h = new Handle(await Deno.connect({ hostname: HOSTNAME, port }), { timeout: 10 });
  try {
    h.pushWrite("whoami\necho me\n");
    const pid = Number(await h.read("line"));
    const echo = await h.read("line");
    if (!Number.isInteger(pid) || echo !== "echo me") {
      throw new Error(`Unexpected answers from port ${port}: ${pid}, ${JSON.stringify(echo)}`);
    }
    return pid;
  } finally {
    h.destroy();
    await h.closed.catch(() => {});
  }
}

/** A worker: serves the shared port until its stdin ends, a `stop` line, SIGINT or SIGTERM. */
async function worker(port: number): Promise<never> {
  let served = 0;
  const server = Handle.serve({
    hostname: HOSTNAME,
    port,
    reusePort: true,
    handle: {
      noDelay: true,
      onError(_h, err: HandleError) {
        // A client going away abruptly is its business; anything else is worth a line.
        if (err.code !== "ECONNRESET" && err.code !== "EPIPE") {
          console.error(`worker ${Deno.pid}: ${err.code}: ${err.message}`);
        }
      },
    },
  }, async (h) => {
    served++;
    for await (const line of h.iterate("line")) {
      h.pushWrite(line === "whoami" ? `${Deno.pid}\n` : `${line}\n`);
    }
    h.destroy(); // the client is done: what is still queued leaves first
  });
  const stopping = Promise.withResolvers<void>();
  const control = new Handle({ reader: Deno.stdin, writer: Deno.stdout }, {
    onEof: () => {},
    onError: () => stopping.resolve(), // stdout or stdin broke: the parent is gone
  });
  const onSignal = () => stopping.resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  // Only now: a parent may signal as soon as it has read this line.
  control.pushWrite(`ready ${Deno.pid} ${server.addr.port}\n`);
  (async () => {
    try {
      for await (const line of control.iterate("line")) if (line === "stop") break;
    } catch { /* stdin failed: the parent is gone */ }
    stopping.resolve();
  })();
  await stopping.promise;

  await server.shutdown(5);
  control.pushWrite(`stopped ${Deno.pid} ${served}\n`);
  await control.drain().catch(() => {});
  Deno.exit(0);
}

/** The parent: starts the workers, spreads a batch of connections over them, stops them. */
async function main(args: string[]): Promise<number> {
  const [count = "2", portArg = "0"] = args;
  const n = Number(count);
  const port = Number(portArg);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error("usage: examples/workers.ts [N >= 1] [port, 0 for a free one]");
    return 2;
  }
  // The first worker picks the port if need be; the others join it.
  const first = await spawnWorker(port);
  const workers = [first];
  try {
    workers.push(
      ...await Promise.all(Array.from({ length: n - 1 }, () => spawnWorker(first.port))),
    );
  } catch (e) {
    await Promise.all(workers.map((w) => w.stop()));
    throw e;
  }
  const stopAll = () => Promise.all(workers.map((w) => w.stop()));
  const onInterrupt = async () => {
    await stopAll();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    const pids = workers.map((w) => w.pid);
    console.log(`workers: ${n} processes on ${HOSTNAME}:${first.port}, pids ${pids.join(", ")}`);
    const batch = 10 * n;
    const answers = new Map<number, number>(pids.map((pid) => [pid, 0]));
    for (let i = 0; i < batch; i++) {
      const pid = await whoami(first.port);
      answers.set(pid, (answers.get(pid) ?? 0) + 1);
    }
    const spread = [...answers].map(([pid, k]) => `${pid} (${k})`).join(", ");
    console.log(`workers: ${batch} connections answered by ${spread}`);
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    for (const [i, exit] of (await stopAll()).entries()) {
      console.log(
        `workers: ${workers[i].pid} stopped, exit code ${exit.status.code}, ` +
          `served ${exit.served} connections`,
      );
    }
  }
  return 0;
}

if (import.meta.main) {
  if (Deno.args[0] === "--worker") await worker(Number(Deno.args[1] ?? 0));
  else Deno.exit(await main(Deno.args));
}
