/**
 * The layout runs one way: `base/` (buffer, errors, transport, the decoder and codec contract)
 * at the bottom, `codecs/` and `tls/` on it, `handle/` on top, `mod.ts` above all; the test kit
 * (`testing/`) stands beside them on `base/` alone, and nothing imports it. Read from `deno info
 * --json` for every entry point, type-only imports included: no folder imports upwards and no
 * files import each other in a loop.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).href;
/** The package's entry points, as deno.json exports them. */
const ENTRY_POINTS = Object.values(
  JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT))).exports as Record<string, string>,
).map((path) => path.replace(/^\.\//, ""));
const ALLOWED: Record<string, string[]> = {
  base: ["base"],
  codecs: ["base", "codecs"],
  tls: ["base", "tls"],
  handle: ["base", "codecs", "tls", "handle"],
  testing: ["base", "testing"],
};

interface Dependency {
  code?: { specifier: string };
  type?: { specifier: string };
}

async function importGraph(): Promise<Map<string, Set<string>>> {
  const graph = new Map<string, Set<string>>();
  for (const entry of ENTRY_POINTS) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: new URL(ROOT).pathname,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.ok(out.success, `deno info ${entry}`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: { specifier: string; dependencies?: Dependency[] }[];
    };
    for (const module of info.modules) {
      if (!module.specifier.startsWith(ROOT)) continue;
      const from = module.specifier.slice(ROOT.length);
      const edges = graph.get(from) ?? new Set<string>();
      graph.set(from, edges);
      for (const dep of module.dependencies ?? []) {
        for (const target of [dep.code?.specifier, dep.type?.specifier]) {
          if (target?.startsWith(ROOT)) edges.add(target.slice(ROOT.length));
        }
      }
    }
  }
  return graph;
}

function folderOf(path: string): string {
  return path.includes("/") ? path.slice(0, path.indexOf("/")) : path;
}

/** Strongly connected components of more than one file, or a file importing itself. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.has(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

Deno.test("layout: no folder imports a folder above it, type-only imports included", async () => {
  const graph = await importGraph();
  assert.ok(graph.size > 30, `read ${graph.size} files`);
  const upward: string[] = [];
  for (const [from, targets] of graph) {
    const allowed = ALLOWED[folderOf(from)];
    if (allowed === undefined) continue; // mod.ts, the entry points
    for (const to of targets) {
      if (!allowed.includes(folderOf(to))) upward.push(`${from} -> ${to}`);
    }
  }
  assert.deepEqual(upward, []);
});

Deno.test("layout: no files import each other in a loop, type-only imports included", async () => {
  assert.deepEqual(cycles(await importGraph()), []);
});

Deno.test("layout: every entry point of deno.json is read, and nothing else imports the test kit", async () => {
  assert.deepEqual(ENTRY_POINTS, ["mod.ts", "codecs/cbor.ts", "testing/mod.ts"]);
  const graph = await importGraph();
  assert.ok(graph.has("testing/scripted.ts"));
  for (const [from, targets] of graph) {
    if (folderOf(from) === "testing") continue;
    for (const to of targets) assert.notEqual(folderOf(to), "testing", `${from} -> ${to}`);
  }
});
