import assert from "node:assert/strict";
import { encodeNetstring, HandleError, NEED_MORE, netstringDecoder, ReadBuffer } from "../mod.ts";
import { concat, run, sameEverySplit, utf8 } from "./_split.ts";

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);

Deno.test("netstring: frames split at every byte boundary decode the same", () => {
  const wire = concat(encodeNetstring("hello"), encodeNetstring(""), encodeNetstring(allBytes));
  const out = sameEverySplit(() => netstringDecoder(), wire);
  assert.deepEqual(out.values, [utf8("hello"), new Uint8Array(), allBytes]);
  assert.equal(out.left, 0);
  assert.equal(out.error, undefined);
});

Deno.test("netstring: encoder writes AnyEvent's wire format", () => {
  assert.deepEqual(encodeNetstring("hello"), utf8("5:hello,"));
  assert.deepEqual(encodeNetstring(""), utf8("0:,"));
  assert.deepEqual(encodeNetstring("é"), utf8("2:é,"));
  assert.deepEqual(encodeNetstring(utf8("0:xx,,")), utf8("6:0:xx,,,"));
  assert.throws(() => encodeNetstring(42 as never), TypeError);
});

Deno.test("netstring: malformed lengths are fatal EBADMSG as soon as seen, nothing consumed", () => {
  for (const bad of ["12x", "x", ":abc,", "03:abc,", "-1:", " 3:abc,"]) {
    const out = sameEverySplit(() => netstringDecoder(), utf8(bad));
    assert.deepEqual(out.error, { code: "EBADMSG", fatal: true }, bad);
    assert.equal(out.left, bad.length, bad);
  }
  // "12" alone could still become "12:...": wait.
  assert.deepEqual(run(() => netstringDecoder(), [utf8("12")]), { values: [], left: 2 });
});

Deno.test("netstring: a missing comma is fatal EBADMSG with the frame left in place", () => {
  const out = sameEverySplit(() => netstringDecoder(), utf8("3:abcXY"));
  assert.deepEqual(out.error, { code: "EBADMSG", fatal: true });
  assert.equal(out.left, 7);
});

Deno.test("netstring: a length over maxLength fails with EMSGSIZE before the payload arrives", () => {
  const make = () => netstringDecoder({ maxLength: 10 });
  assert.deepEqual(run(make, [utf8("10:0123456789,")]).values, [utf8("0123456789")]);
  const out = run(make, [utf8("11:")]);
  assert.deepEqual(out.error, { code: "EMSGSIZE", fatal: true });
  assert.equal(out.left, 3);
  // More digits than maxLength has: known too long before the colon.
  assert.deepEqual(run(make, [utf8("100")]).error, { code: "EMSGSIZE", fatal: true });
  assert.deepEqual(run(make, [utf8("99")]).error, undefined);
});

Deno.test("netstring: the header is re-parsed when another reader consumed bytes", () => {
  const buf = new ReadBuffer();
  const d = netstringDecoder();
  buf.append(utf8("3:ab"));
  assert.equal(d.decode(buf), NEED_MORE); // header "3:" parsed and remembered
  buf.consume(2); // another reader takes "3:"
  buf.append(utf8("c,2:xy,"));
  assert.throws(() => d.decode(buf), (e) => e instanceof HandleError && e.code === "EBADMSG");
  buf.consume(4);
  assert.deepEqual(d.decode(buf), utf8("xy"));
});

Deno.test("netstring: maxLength must be a positive integer or Infinity", () => {
  assert.throws(() => netstringDecoder({ maxLength: 0 }), RangeError);
  assert.throws(() => netstringDecoder({ maxLength: 1.5 }), RangeError);
  netstringDecoder({ maxLength: Infinity });
});
