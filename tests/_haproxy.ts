/**
 * HAProxy for the tests that run one (tests/proxy_haproxy.test.ts,
 * tests/reliability_haproxy_check.test.ts): where the binary is, and free loopback ports for its
 * frontends, chosen at run time (HAProxy binds them itself, so a lost race is retried).
 */

/** The `haproxy` binary, or `undefined` if there is none (Debian: `apt-get install haproxy`). */
export async function findHaproxy(): Promise<string | undefined> {
  for (const candidate of ["haproxy", "/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]) {
    try {
      const probe = new Deno.Command(candidate, { args: ["-v"], stdout: "null", stderr: "null" });
      if ((await probe.output()).success) return candidate;
    } catch {
      // not at this place
    }
  }
  return undefined;
}

/** A port that was free a moment ago (HAProxy binds it next; a lost race is retried). */
export function freePort(hostname: string): number {
  const listener = Deno.listen({ hostname, port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** A running HAProxy: whether it has exited, and how to stop it (giving all it printed). */
export interface RunningHaproxy {
  /** Whether the process has ended (a port taken meanwhile makes it exit at start). */
  readonly exited: boolean;
  /** Stops it if it still runs; resolves with its stdout and stderr. */
  stop(): Promise<string>;
}

/**
 * Starts `haproxy` in the foreground on a configuration written to `dir`.
 *
 * @param binary The binary (see {@linkcode findHaproxy}).
 * @param dir A scratch folder for the configuration file.
 * @param config The configuration.
 * @returns The process.
 */
export async function spawnHaproxy(
  binary: string,
  dir: string,
  config: string,
): Promise<RunningHaproxy> {
  const file = `${dir}/haproxy.cfg`;
  await Deno.writeTextFile(file, config);
  const child = new Deno.Command(binary, {
    args: ["-f", file, "-db"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]).then(([out, err]) => out + err);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  return {
    get exited() {
      return exited;
    },
    async stop() {
      if (!exited) child.kill("SIGTERM");
      await status;
      return await output;
    },
  };
}
