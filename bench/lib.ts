/**
 * Which copy of the library a benchmark measures: `BENCH_LIB=/path/to/mod.ts` (a path, relative
 * to the working directory, or a `file:` URL), by default this repository's mod.ts. Child
 * scripts load it with a dynamic import, so one checkout can measure another (a pristine copy
 * of the last release, say) in the same sitting.
 *
 * @module
 */

/** The library's public API, as this repository's mod.ts types it. */
export type Lib = typeof import("../mod.ts");

/** The URL of the library under test (`BENCH_LIB`, else ../mod.ts). */
export function libUrl(): URL {
  const spec = Deno.env.get("BENCH_LIB");
  if (spec === undefined || spec === "") return new URL("../mod.ts", import.meta.url);
  if (spec.startsWith("file:")) return new URL(spec);
  return new URL(spec, `file://${Deno.cwd()}/`);
}

/** The directory a child needs read access to in order to import the library. */
export function libDir(): string {
  return new URL(".", libUrl()).pathname;
}

/** Imports the library under test. */
export async function loadLib(): Promise<Lib> {
  return await import(libUrl().href);
}
