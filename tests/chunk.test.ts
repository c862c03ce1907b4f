import assert from "node:assert/strict";
import { chunkDecoder, NEED_MORE, ReadBuffer } from "../mod.ts";
import { run, sameEverySplit, utf8 } from "./_split.ts";

Deno.test("chunk: exactly n bytes, however the input is split", () => {
  const out = sameEverySplit(() => chunkDecoder(3), utf8("abcdefgh"));
  assert.deepEqual(out.values, [utf8("abc"), utf8("def")]);
  assert.equal(out.left, 2);
});

Deno.test("chunk: length 0 delivers an empty array at once", () => {
  const buf = new ReadBuffer();
  assert.deepEqual(chunkDecoder(0).decode(buf), new Uint8Array());
});

Deno.test("chunk: waits for n bytes and consumes nothing meanwhile", () => {
  assert.deepEqual(run(() => chunkDecoder(5), [utf8("abcd")]), { values: [], left: 4 });
  const buf = new ReadBuffer();
  buf.append(utf8("ab"));
  assert.equal(chunkDecoder(3).decode(buf), NEED_MORE);
  assert.equal(buf.length, 2);
});

Deno.test("chunk: the bytes delivered are a copy the buffer never changes", () => {
  const buf = new ReadBuffer();
  buf.append(utf8("1234"));
  const got = chunkDecoder(4).decode(buf) as Uint8Array;
  buf.append(utf8("zzzzzzzz"));
  buf.consume(8);
  assert.deepEqual(got, utf8("1234"));
});

Deno.test("chunk: a negative or fractional length throws RangeError", () => {
  for (const n of [-1, 1.5, NaN, Infinity]) assert.throws(() => chunkDecoder(n), RangeError);
});
