/**
 * Type errors point at the wrong argument, once: every mistake below is a type error (each
 * `@ts-expect-error` must be one, or the project's `deno check` fails), and one test runs
 * `deno check` on tests/fixtures/type_mistakes.ts to compare what it says: for each mistake
 * exactly one error, on its line, whose first line names the argument that is wrong.
 */
import assert from "node:assert/strict";
import { chunk, type Handle, json, line, netstring, packstring } from "../mod.ts";

/** Never called: only type-checked. The callbacks' parameters are never implicitly `any`. */
export async function mistakes(h: Handle): Promise<void> {
  // @ts-expect-error chunk takes a number, not a string
  h.pushRead(chunk, "4", (_h, bytes) => void bytes.byteLength);
  // @ts-expect-error chunk's length is missing
  h.pushRead(chunk, (_h, bytes) => void bytes.byteLength);
  // @ts-expect-error read(chunk) needs the length
  void h.read(chunk);
  // @ts-expect-error line takes one argument before its callback, not two
  h.pushRead(line, "\n", "x", (_h, text) => void text.length);
  // @ts-expect-error the line callback gets strings
  h.pushRead(line, (_h, text: Uint8Array) => void text);
  // @ts-expect-error chunk delivers one value, not four
  h.pushRead(chunk, 4, (_h, a, b, c, d) => void [a, b, c, d]);
  // @ts-expect-error the callback is missing
  h.pushRead(line);
  // @ts-expect-error the callback is missing after the length
  h.unshiftRead("chunk", 4);
  // @ts-expect-error line only reads
  h.pushWrite(line, "x");
  // @ts-expect-error no read type is called "netstrings"
  h.pushRead("netstrings", (_h, text) => void text);
  // @ts-expect-error read(line) gives a string
  const length: number = await h.read(line);
  // @ts-expect-error a chunk's length is a number
  void chunk("x");
  // @ts-expect-error iterate(chunk) needs a number
  void h.iterate(chunk, "4");
  // @ts-expect-error json writes one value
  h.pushWrite(json, 1, 2);
  // @ts-expect-error packstring writes a format, then the data
  h.unshiftWrite(packstring, new Uint8Array());
  // @ts-expect-error netstring frames are bytes
  for await (const frame of h.iterate(netstring)) void frame.toUpperCase();
  void length;
}

type Diagnostic = { code: string; message: string; line: number };

/** The errors `deno check` reports in `file`: code, first line, and line number. */
function parseCheck(output: string, file: string): { errors: Diagnostic[]; found: number } {
  const errors: Diagnostic[] = [];
  let open: { code: string; message: string } | undefined;
  for (const text of output.split("\n")) {
    const head = /^(TS\d+) \[ERROR\]: (\S.*)$/.exec(text);
    if (head !== null) {
      open = { code: head[1], message: head[2] };
      continue;
    }
    const at = /^ {4}at (file:\S+):(\d+):\d+$/.exec(text); // related notes are indented more
    if (at !== null && open !== undefined) {
      if (at[1] === file) errors.push({ ...open, line: Number(at[2]) });
      else errors.push({ ...open, line: -1 });
      open = undefined;
    }
  }
  const found = /Found (\d+) errors?\./.exec(output);
  return { errors, found: found === null ? (errors.length === 1 ? 1 : 0) : Number(found[1]) };
}

Deno.test("typing: deno check reports each mistake once, naming the wrong argument", async () => {
  const fixture = new URL("./fixtures/type_mistakes.ts", import.meta.url);
  const source = await Deno.readTextFile(fixture);
  const expected = new Map<number, string>();
  source.split("\n").forEach((text, i) => {
    const m = /^\s*\/\/ expect: (.*)$/.exec(text);
    if (m !== null) expected.set(i + 2, m[1]); // the mistake is on the next line (1-based)
  });
  assert.ok(expected.size >= 10);

  // Without the project's config, which excludes the fixture from its own check, and with a
  // cache of its own: no earlier check's results can stand in for this one's.
  const cache = await Deno.makeTempDir({ prefix: "type_mistakes_" });
  const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--no-config", "--quiet", fixture.pathname],
    env: { NO_COLOR: "1", DENO_DIR: cache },
    stdout: "piped",
    stderr: "piped",
  }).output().finally(() => Deno.remove(cache, { recursive: true }));
  const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  const { errors, found } = parseCheck(output, fixture.href);

  assert.deepEqual(errors.filter((e) => e.line === -1), [], "errors outside the fixture");
  const byLine = Map.groupBy(errors, (e) => e.line);
  assert.deepEqual([...byLine.keys()].sort((a, b) => a - b), [...expected.keys()]);
  for (const [at, start] of expected) {
    const here = byLine.get(at)!;
    assert.equal(here.length, 1, `line ${at}: ${here.map((e) => e.message).join(" | ")}`);
    assert.ok(
      here[0].message.startsWith(start),
      `line ${at}: expected "${start}...", got "${here[0].message}"`,
    );
  }
  assert.equal(found, expected.size);
});
