/**
 * The command-line options shared by every benchmark of bench/: a flag `--name=value` (or
 * `--name` alone for "1", `--no-name` for "0"), else an environment variable.
 *
 * @module
 */

/** A flag `--name=value` (or `--name` alone, "1"), else the environment variable. */
export function option(name: string, env: string): string | undefined {
  for (const arg of Deno.args) {
    if (arg === `--${name}`) return "1";
    if (arg === `--no-${name}`) return "0";
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return Deno.env.get(env);
}

/** A positive number from an option, or `fallback` when it is not given. */
export function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0)) throw new RangeError(`${name} must be a positive number, got "${value}"`);
  return n;
}

/** `--quick` / `BENCH_QUICK=1`: every benchmark shortened to a sanity check. */
export const QUICK = option("quick", "BENCH_QUICK") === "1";

/** The median of a non-empty list. */
export const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
