import assert from "node:assert/strict";
import { readType, registerReadType, registerWriteType, writeType } from "../mod.ts";

Deno.test("registry: built-in types are registered with the right spreading", () => {
  assert.equal(readType("line").spread, true);
  assert.equal(readType("regex").spread, true);
  for (const name of ["chunk", "netstring", "packstring", "json"]) {
    assert.equal(readType(name).spread, false, name);
  }
  for (const name of ["netstring", "packstring", "json"]) {
    assert.equal(typeof writeType(name), "function", name);
  }
});

Deno.test("registry: unknown names throw TypeError", () => {
  assert.throws(() => readType("test-unknown"), TypeError);
  assert.throws(() => writeType("test-unknown"), TypeError);
});

Deno.test("registry: a name cannot be registered twice or be empty", () => {
  const decoder = () => ({ decode: () => 0 });
  registerReadType("test-once" as never, decoder as never);
  assert.throws(() => registerReadType("test-once" as never, decoder as never), TypeError);
  assert.throws(() => registerReadType("line" as never, decoder as never), TypeError);
  assert.throws(() => registerReadType("" as never, decoder as never), TypeError);
  registerWriteType("test-once" as never, (() => new Uint8Array()) as never);
  assert.throws(
    () => registerWriteType("test-once" as never, (() => new Uint8Array()) as never),
    TypeError,
  );
});
