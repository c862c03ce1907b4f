/**
 * A PostgreSQL server of its own for a test: `initdb` and `pg_ctl` from Debian's
 * /usr/lib/postgresql/VERSION/bin, run as the `postgres` user (the server refuses to run as
 * root) in a temporary directory owned by it, `trust` authentication, listening on a Unix
 * socket in that directory and on a loopback port that was free a moment ago (another is tried
 * if it was taken meanwhile). `stop()` stops the server and removes the directory.
 */

/** A running server. */
export interface Postgres {
  /** Its loopback port. */
  port: number;
  /** The path of its Unix socket. */
  socket: string;
  /** Stops it (immediately: nothing is kept) and removes its directory. */
  stop(): Promise<void>;
}

/** The newest PostgreSQL's bin directory. */
function binDir(): string {
  const root = "/usr/lib/postgresql";
  let versions: string[] = [];
  try {
    versions = [...Deno.readDirSync(root)].map((e) => e.name)
      .filter((v) => {
        try {
          return Deno.statSync(`${root}/${v}/bin/initdb`).isFile;
        } catch {
          return false;
        }
      });
  } catch { /* no PostgreSQL at all */ }
  if (versions.length === 0) {
    throw new Error("This test needs PostgreSQL: apt-get install postgresql (.ci/run does)");
  }
  versions.sort((a, b) => Number(b) - Number(a));
  return `${root}/${versions[0]}/bin`;
}

/** Runs a command as the postgres user; throws with its output if it fails. */
async function asPostgres(args: string[]): Promise<void> {
  const out = await new Deno.Command("runuser", {
    args: ["-u", "postgres", "--", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    throw new Error(`${args.join(" ")} failed (code ${out.code}):\n${text}`);
  }
}

async function idOf(flag: "-u" | "-g"): Promise<number> {
  const out = await new Deno.Command("id", { args: [flag, "postgres"], stderr: "piped" }).output();
  if (!out.success) throw new Error("This test needs the postgres user (made by Debian's package)");
  return Number(new TextDecoder().decode(out.stdout));
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/**
 * Makes a cluster and starts it; `pg_ctl -w` returns when it accepts connections.
 *
 * @returns The server.
 */
export async function startPostgres(): Promise<Postgres> {
  const bin = binDir();
  const dir = await Deno.makeTempDir({ prefix: "anyevent_pg_" });
  const data = `${dir}/data`;
  const log = `${dir}/server.log`;
  let started = false;
  try {
    await Deno.chown(dir, await idOf("-u"), await idOf("-g"));
    await asPostgres([
      `${bin}/initdb`,
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--no-locale",
      "--no-sync",
    ]);
    for (let attempt = 0;; attempt++) {
      const port = freePort();
      const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off`;
      try {
        await asPostgres([
          `${bin}/pg_ctl`,
          "-D",
          data,
          "-l",
          log,
          "-w",
          "-t",
          "60",
          "-o",
          options,
          "start",
        ]);
      } catch (e) {
        const text = await Deno.readTextFile(log).catch(() => "");
        if (attempt < 4 && /already in use/i.test(text)) continue;
        throw new Error(`${(e as Error).message}\nserver log:\n${text}`);
      }
      started = true;
      return {
        port,
        socket: `${dir}/.s.PGSQL.${port}`,
        async stop() {
          try {
            await asPostgres([`${bin}/pg_ctl`, "-D", data, "-m", "immediate", "-w", "stop"]);
          } finally {
            await Deno.remove(dir, { recursive: true });
          }
        },
      };
    }
  } finally {
    if (!started) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
