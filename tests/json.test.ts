import assert from "node:assert/strict";
import { encodeJson, Handle, type HandleError, jsonDecoder, ReadBuffer } from "../mod.ts";
import { scripted } from "../testing/mod.ts";
import { concat, run, sameEverySplit, utf8 } from "./_split.ts";
import { pair, writeAll } from "./_net.ts";

Deno.test("json: back-to-back texts, with and without whitespace, split anywhere", () => {
  const wire = utf8(' {"a":1}[2]\n"s\\"}" 12 true null -3.5e2{"x":["]",{}]}\r\n\t"é😀"');
  const out = sameEverySplit(() => jsonDecoder(), wire, true);
  assert.deepEqual(out.values, [
    { a: 1 },
    [2],
    's"}',
    12,
    true,
    null,
    -350,
    { x: ["]", {}] },
    "é😀",
  ]);
  assert.equal(out.left, 0);
});

Deno.test("json: many texts in one read, ASCII or not, invalid bytes included, parse as each alone", () => {
  // Runs of short texts are decoded a run at a time; the texts must come out as if each had
  // been decoded on its own, wherever a run starts or ends and whatever it holds.
  const texts = [
    ...Array.from({ length: 300 }, (_, i) => `{"id":${i},"s":"${"x".repeat(i % 50)}"}`),
    '"\u00e9 é"',
    '["😀",1]',
    ...Array.from({ length: 300 }, (_, i) => `[${i}]`),
  ];
  const parts = texts.map(utf8);
  // A lone byte that is no UTF-8 inside a string: one U+FFFD, as a lone decode makes it.
  parts.splice(450, 0, concat('"a', new Uint8Array([0xff]), 'b"'));
  const wire = concat(...parts.flatMap((p) => [p, " "]));
  const expected = parts.map((p) => JSON.parse(new TextDecoder().decode(p)));
  for (const piece of [wire.length, 4096, 1000, 97]) {
    const pieces = [];
    for (let at = 0; at < wire.length; at += piece) pieces.push(wire.subarray(at, at + piece));
    assert.deepEqual(run(() => jsonDecoder(), pieces, true).values, expected, `pieces of ${piece}`);
  }
});

Deno.test("json: a top-level number waits for a delimiter or the end of input", () => {
  assert.deepEqual(run(() => jsonDecoder(), [utf8("12")]).values, []);
  assert.deepEqual(run(() => jsonDecoder(), [utf8("12"), utf8("3 ")]).values, [123]);
  assert.deepEqual(run(() => jsonDecoder(), [utf8("12")], true).values, [12]);
});

Deno.test("json: trailing whitespace at end of input is consumed, a truncated text is not", () => {
  assert.deepEqual(run(() => jsonDecoder(), [utf8("[1]\n\n")], true), { values: [[1]], left: 0 });
  assert.deepEqual(run(() => jsonDecoder(), [utf8('[1, "ab')], true), { values: [], left: 7 });
});

Deno.test("json: invalid text is a non-fatal EBADMSG and is skipped", () => {
  const out = run(() => jsonDecoder(), [utf8("[1,]")]);
  assert.deepEqual(out.error, { code: "EBADMSG", fatal: false });
  assert.equal(out.left, 0);
  // The decoder continues after the bad text.
  const buf = new ReadBuffer();
  const d = jsonDecoder();
  buf.append(utf8('{"a":} {"b":2}'));
  assert.throws(() => d.decode(buf));
  assert.deepEqual(d.decode(buf), { b: 2 });
  // A stray byte where a value should start: skipped up to the next whitespace or bracket.
  const stray = run(() => jsonDecoder(), [utf8("}}} [3]")]);
  assert.deepEqual(stray.error, { code: "EBADMSG", fatal: false });
  assert.equal(stray.left, 4);
});

Deno.test("json: a text over maxLength fails with EMSGSIZE as soon as the scan passes it", () => {
  const out = run(() => jsonDecoder({ maxLength: 8 }), [utf8('["abcdefgh')]);
  assert.deepEqual(out.error, { code: "EMSGSIZE", fatal: true });
  assert.equal(out.left, 10);
  assert.deepEqual(run(() => jsonDecoder({ maxLength: 8 }), [utf8('["abcd"]')]).values, [["abcd"]]);
});

Deno.test("json: the scan is linear: a 1 MiB text in 1 KiB pieces is scanned once", () => {
  const text = utf8(JSON.stringify({ big: "x".repeat(1 << 20) }));
  const buf = new ReadBuffer();
  const d = jsonDecoder({ maxLength: 2 << 20 });
  let value: unknown;
  let attempts = 0;
  for (let i = 0; i < text.length; i += 1024) {
    buf.append(text.subarray(i, i + 1024));
    attempts++;
    const v = d.decode(buf);
    if (typeof v !== "symbol") value = v;
  }
  assert.equal((value as { big: string }).big.length, 1 << 20);
  assert.ok(attempts > 1000);
});

Deno.test("json: the encoder writes no newline and refuses values without a JSON form", () => {
  assert.equal(new TextDecoder().decode(encodeJson({ a: [1, "x\ny"] })), '{"a":[1,"x\\ny"]}');
  assert.equal(new TextDecoder().decode(encodeJson("é")), '"é"');
  assert.throws(() => encodeJson(undefined), TypeError);
  assert.throws(() => encodeJson(() => 1), TypeError);
  assert.throws(() => encodeJson(1n), TypeError);
});

/** A coder that keeps integers beyond 2^53 exact, as bigint (JSON.parse source text access). */
const bigIntCoder = {
  parse: (text: string) =>
    JSON.parse(
      text,
      (_k, v, ctx?: { source?: string }) =>
        typeof v === "number" && !Number.isSafeInteger(v) && ctx?.source &&
          /^-?\d+$/.test(ctx.source)
          ? BigInt(ctx.source)
          : v,
    ),
  stringify: (value: unknown) =>
    JSON.stringify(
      value,
      (_k, v) =>
        typeof v === "bigint"
          ? (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON(v.toString())
          : v,
    ),
};

Deno.test("json: a handle's json coder parses reads and stringifies writes (big integers exact)", async () => {
  const p = await pair({ json: bigIntCoder });
  await writeAll(p.peer, '{"id":12345678901234567890,"n":1}');
  const value = await p.h.read("json") as { id: bigint; n: number };
  assert.equal(value.id, 12345678901234567890n);
  assert.equal(value.n, 1);
  p.h.pushWrite("json", { id: 98765432109876543210n });
  const buf = new Uint8Array(64);
  const n = await p.peer.read(buf);
  assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), '{"id":98765432109876543210}');
  await p.close();
});

Deno.test("json: a read's own parse wins over the handle's coder; a throwing parse is a non-fatal EBADMSG", async () => {
  const errors: HandleError[] = [];
  const twoErrors = Promise.withResolvers<void>();
  const peer = scripted().send('{"a":1} {"b":2}').wait(20).send(' {"c":3}').end();
  const h = new Handle(peer.conn, {
    json: bigIntCoder,
    onError: (_h, e) => errors.push(e) === 2 && twoErrors.resolve(),
  });
  const upper = await h.read("json", { parse: (t) => JSON.parse(t.toUpperCase()) });
  assert.deepEqual(upper, { A: 1 });
  h.pushRead("json", {
    parse: () => {
      throw new Error("no");
    },
  }, () => assert.fail("a text that failed to parse was delivered"));
  // Each text that fails to parse is skipped and reported; the read stays at the head of the
  // queue (as in AnyEvent), so both {"b":2} and {"c":3}, sent 20 ms later, fail.
  await twoErrors.promise;
  assert.deepEqual(errors.map((e) => [e.code, e.fatal]), [["EBADMSG", false], ["EBADMSG", false]]);
  h.destroy();
  await peer.done;
});

Deno.test("json: a json option without parse and stringify is a TypeError", async () => {
  const p = await pair();
  assert.throws(() => new Handle(p.peer, { json: { parse: JSON.parse } as never }), TypeError);
  await p.close();
});
