/**
 * Child processes for the echo, write and idle benchmarks: spawned through `sh` so that
 * `ulimit -n` can be raised first (5,000 sockets need more than the usual 1,024 descriptors),
 * read line by line from stdout with a deadline, and always stopped and awaited.
 *
 * @module
 */

/** The descriptor limit asked for; the hard limit if that is lower. */
export const NOFILE = 20000;

const SH_PREFIX = `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;

/** A running child whose stdout is read as lines. */
export class Child {
  readonly process: Deno.ChildProcess;
  readonly name: string;
  #lines: ReadableStreamDefaultReader<string>;
  #text = "";

  /**
   * Spawns `argv` with a raised descriptor limit; the child's pid is that of `argv[0]` (sh
   * `exec`s it).
   *
   * @param name What to call the child in error messages.
   * @param argv The program and its arguments.
   * @param env Extra environment variables.
   */
  constructor(name: string, argv: string[], env: Record<string, string> = {}) {
    this.name = name;
    this.process = new Deno.Command("sh", {
      args: ["-c", SH_PREFIX, "sh", ...argv],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#lines = this.process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The child's process id. */
  get pid(): number {
    return this.process.pid;
  }

  /** The next line of stdout, or an error if the child ends or `seconds` pass first. */
  async nextLine(seconds: number): Promise<string> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.name}: no output within ${seconds} s`)),
        seconds * 1000,
      );
    });
    try {
      while (!this.#text.includes("\n")) {
        const { value, done } = await Promise.race([this.#lines.read(), deadline]);
        if (done) throw new Error(`${this.name} exited before printing a line`);
        this.#text += value;
      }
    } finally {
      clearTimeout(timer);
    }
    const at = this.#text.indexOf("\n");
    const line = this.#text.slice(0, at);
    this.#text = this.#text.slice(at + 1);
    return line;
  }

  /** The next line of stdout parsed as JSON. */
  async nextJson<T>(seconds: number): Promise<T> {
    const line = await this.nextLine(seconds);
    try {
      return JSON.parse(line) as T;
    } catch {
      throw new Error(`${this.name}: expected JSON, got "${line}"`);
    }
  }

  /** Waits for the child to exit by itself; fails if it does not within `seconds` or fails. */
  async exited(seconds: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), seconds * 1000);
    });
    const status = await Promise.race([this.process.status, deadline]);
    clearTimeout(timer);
    if (status === "late") {
      await this.stop();
      throw new Error(`${this.name} did not exit within ${seconds} s`);
    }
    await this.#lines.cancel().catch(() => {});
    if (!status.success) throw new Error(`${this.name} exited with code ${status.code}`);
  }

  /** Sends SIGTERM unless the child already exited, and waits for it. */
  async stop(): Promise<void> {
    try {
      this.process.kill("SIGTERM");
    } catch { /* already exited */ }
    await this.#lines.cancel().catch(() => {});
    await this.process.status;
  }
}

/** `deno run` of a script of bench/ with the given permission flags. */
export function denoScript(script: string, permissions: string[], args: string[]): string[] {
  const path = new URL(script, import.meta.url).pathname;
  return [Deno.execPath(), "run", "--no-lock", ...permissions, path, ...args];
}

/**
 * The resident set size of a process in KiB (VmRSS of /proc/<pid>/status), read by `cat`:
 * Deno lets only `--allow-all` read another process's /proc entries.
 */
export async function rssKiB(pid: number): Promise<number> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/status`],
    stdin: "null",
    stderr: "null",
  }).output();
  const status = new TextDecoder().decode(out.stdout);
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (m === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
