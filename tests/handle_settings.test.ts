/**
 * The settings table (`handle/settings.ts`): every option has one row, every row that is a
 * property is a documented member of `Handle`, and an option and its property refuse the same
 * values with the same error, since both go through the row's check.
 */
import assert from "node:assert/strict";
import { Handle, type HandleOptions } from "../mod.ts";
import { SETTINGS } from "../handle/settings.ts";
import { pair } from "./_net.ts";

interface DocProperty {
  name: string;
  jsDoc?: { doc?: string };
}

/** The declared properties of a class or interface, as `deno doc --json` reads them. */
async function docProperties(file: string, symbol: string): Promise<DocProperty[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", file],
    cwd: new URL("../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(out.success, `deno doc ${file}`);
  const json = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    nodes: Record<string, { symbols?: { name: string; declarations: { def: unknown }[] }[] }>;
  };
  for (const node of Object.values(json.nodes)) {
    for (const found of node.symbols ?? []) {
      if (found.name !== symbol) continue;
      return (found.declarations[0].def as { properties: DocProperty[] }).properties;
    }
  }
  throw new Error(`${symbol} not found in ${file}`);
}

const names = (rows: readonly { name: string }[]) => rows.map((row) => row.name).sort();

Deno.test("settings: every option but tls has exactly one row", async () => {
  const options = await docProperties("handle/options.ts", "HandleOptionsFor");
  assert.deepEqual(names(SETTINGS), names(options).filter((name) => name !== "tls"));
  assert.equal(new Set(names(SETTINGS)).size, SETTINGS.length);
});

Deno.test("settings: each row that is a property is a documented accessor of Handle, and only those", async () => {
  const declared = await docProperties("handle/handle.ts", "Handle");
  const properties = SETTINGS.filter((row) => !row.optionOnly);
  assert.deepEqual(names(declared), names(properties));
  for (const property of declared) assert.ok(property.jsDoc?.doc, `${property.name} has docs`);
  for (const row of properties) {
    const accessor = Object.getOwnPropertyDescriptor(Handle.prototype, row.name);
    assert.equal(typeof accessor?.get, "function", row.name);
    assert.equal(typeof accessor?.set, "function", row.name);
  }
});

/** A value each checked setting refuses. */
const REFUSED: Partial<Record<keyof HandleOptions, unknown>> = {
  rbufMax: -1,
  wbufMax: 1.5,
  readSize: 0,
  maxReadSize: -2,
  lowWaterMark: -1,
  highWaterMark: NaN,
  linger: -1,
  timeout: -1,
  rtimeout: NaN,
  wtimeout: Infinity,
  maxFrameLength: 0,
  json: { parse: JSON.parse },
};

/** A handle that reads back what it writes (a stream pair, no socket). */
function looped(options: HandleOptions = {}): Handle {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  return Handle.fromStreams(readable, writable, options);
}

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("nothing was thrown");
}

Deno.test("settings: an option and its property refuse the same value with the same error", async () => {
  const p = await pair();
  try {
    for (const [name, value] of Object.entries(REFUSED)) {
      const row = SETTINGS.find((row) => row.name === name)!;
      const fromOption = thrown(() => looped({ [name]: value }));
      assert.ok(fromOption instanceof RangeError || fromOption instanceof TypeError, name);
      assert.match(fromOption.message, /^Cannot use /, name);
      if (row.optionOnly) continue;
      const before = (p.h as unknown as Record<string, unknown>)[name];
      const fromProperty = thrown(() => (p.h as unknown as Record<string, unknown>)[name] = value);
      assert.equal(fromProperty.constructor, fromOption.constructor, name);
      assert.equal(fromProperty.message, fromOption.message, name);
      assert.equal((p.h as unknown as Record<string, unknown>)[name], before, `${name} unchanged`);
    }
  } finally {
    await p.close();
  }
});

Deno.test("settings: a property reads back what was set, through the same row as the option", async () => {
  const p = await pair({ rbufMax: 100, linger: 2, timeout: 30, keepalive: true });
  try {
    assert.deepEqual([p.h.rbufMax, p.h.linger, p.h.timeout, p.h.keepalive], [100, 2, 30, true]);
    p.h.rbufMax = 200;
    p.h.linger = 0;
    p.h.timeout = 0;
    p.h.keepalive = false;
    assert.deepEqual([p.h.rbufMax, p.h.linger, p.h.timeout, p.h.keepalive], [200, 0, 0, false]);
    const defaults = looped();
    assert.deepEqual(
      [defaults.rbufMax, defaults.wbufMax, defaults.linger, defaults.noDelay, defaults.autocork],
      [Infinity, Infinity, 60, false, false],
    );
    assert.equal(defaults.onError, undefined);
    defaults.destroy();
  } finally {
    await p.close();
  }
});
