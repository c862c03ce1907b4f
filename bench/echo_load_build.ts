/**
 * The echo benchmark's load generator, ready to run: bench/echo_load.c compiled with
 * `cc -O2` into a fresh temporary directory, or, without a working C compiler, the Node
 * script bench/echo_load.mjs (same arguments and output, but slower, so more likely to be the
 * bottleneck). The compiler runs through `sh` (`mktemp -d`), so the benchmark needs no
 * `--allow-write`.
 *
 * @module
 */

/** A runnable load generator. */
export interface LoadGenerator {
  /** "C (cc -O2)" or "Node (no C compiler)". */
  kind: string;
  /** The command line without the generator's own arguments. */
  argv: string[];
  /** Why the C build was not used, if it was not. */
  note?: string;
  /** Removes the temporary directory. */
  cleanup(): Promise<void>;
}

const SOURCE = new URL("./echo_load.c", import.meta.url).pathname;
const FALLBACK = new URL("./echo_load.mjs", import.meta.url).pathname;
const BUILD = "d=$(mktemp -d) || exit 1; " +
  'if cc -O2 -o "$d/echo_load" "$1"; then echo "$d"; else rm -rf "$d"; exit 1; fi';

/** Compiles the C load generator, or falls back to the Node one. */
export async function buildLoadGenerator(): Promise<LoadGenerator> {
  let note: string;
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", BUILD, "sh", SOURCE],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dir = new TextDecoder().decode(out.stdout).trim();
    if (out.success && dir.startsWith("/")) {
      return {
        kind: "C (cc -O2)",
        argv: [`${dir}/echo_load`],
        cleanup: async () => {
          await new Deno.Command("rm", { args: ["-rf", dir], stdin: "null" }).output();
        },
      };
    }
    note = `cc failed: ${new TextDecoder().decode(out.stderr).trim().split("\n")[0]}`;
  } catch (e) {
    note = `cannot run sh/cc: ${(e as Error).message}`;
  }
  return {
    kind: "Node (no C compiler)",
    argv: ["node", FALLBACK],
    note,
    cleanup: () => Promise.resolve(),
  };
}
