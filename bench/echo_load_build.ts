/**
 * The echo benchmark's load generator, ready to run: bench/echo_load.c compiled with
 * `cc -O2` into a fresh temporary directory, or, without a working C compiler, the Node
 * script bench/echo_load.mjs (same arguments and output, but slower, so more likely to be the
 * bottleneck). The compiler runs through `sh` (`mktemp -d`), so the benchmark needs no
 * `--allow-write`. The TLS build (bench/echo_load_tls.c, OpenSSL) has no fallback: without a
 * compiler or OpenSSL's headers and libraries, the TLS echo benchmark is skipped.
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
const TLS_SOURCE = new URL("./echo_load_tls.c", import.meta.url).pathname;
const FALLBACK = new URL("./echo_load.mjs", import.meta.url).pathname;
/** `sh -c BUILD sh <cc arguments>`: compiles into a fresh directory and prints its path. */
const BUILD = "d=$(mktemp -d) || exit 1; " +
  'if cc -O2 -o "$d/echo_load" "$@"; then echo "$d"; else rm -rf "$d"; exit 1; fi';

/** Runs `cc` with `args`: the generator, or why it could not be built. */
async function compile(kind: string, args: string[]): Promise<LoadGenerator | string> {
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", BUILD, "sh", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dir = new TextDecoder().decode(out.stdout).trim();
    if (out.success && dir.startsWith("/")) {
      return {
        kind,
        argv: [`${dir}/echo_load`],
        cleanup: async () => {
          await new Deno.Command("rm", { args: ["-rf", dir], stdin: "null" }).output();
        },
      };
    }
    return `cc failed: ${new TextDecoder().decode(out.stderr).trim().split("\n")[0]}`;
  } catch (e) {
    return `cannot run sh/cc: ${(e as Error).message}`;
  }
}

/** Compiles the C load generator, or falls back to the Node one. */
export async function buildLoadGenerator(): Promise<LoadGenerator> {
  const built = await compile("C (cc -O2)", [SOURCE]);
  if (typeof built !== "string") return built;
  return {
    kind: "Node (no C compiler)",
    argv: ["node", FALLBACK],
    note: built,
    cleanup: () => Promise.resolve(),
  };
}

/**
 * Compiles the C load generator with TLS (`--tls <ca.pem>`; plain without it): the
 * generator, or why it could not be built (no compiler, or no OpenSSL).
 */
export function buildTlsLoadGenerator(): Promise<LoadGenerator | string> {
  return compile("C (cc -O2, OpenSSL)", [
    "-DECHO_LOAD_TLS",
    SOURCE,
    TLS_SOURCE,
    "-lssl",
    "-lcrypto",
  ]);
}
