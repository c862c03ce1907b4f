import assert from "node:assert/strict";
import { encodePackstring, HandleError, packstringDecoder } from "../mod.ts";
import { concat, run, sameEverySplit, utf8 } from "./_split.ts";

const FORMATS = [
  "C",
  "c",
  "n",
  "N",
  "v",
  "V",
  "w",
  "Q>",
  "Q<",
  "q>",
  "s",
  "S<",
  "l>",
  "L!",
  "j",
  "J>",
  "i",
  "I<",
];

Deno.test("packstring: every format round-trips, split at every byte boundary", () => {
  for (const format of FORMATS) {
    const longest = format === "c" ? 127 : 255;
    const payloads = [
      utf8("ab"),
      new Uint8Array(),
      utf8("x".repeat(127)),
      utf8("y".repeat(longest)),
    ];
    const wire = concat(...payloads.map((p) => encodePackstring(format, p)));
    const out = sameEverySplit(() => packstringDecoder(format), wire);
    assert.deepEqual(out.values, payloads, format);
    assert.equal(out.left, 0, format);
  }
});

Deno.test("packstring: prefixes match Perl pack", () => {
  assert.deepEqual(encodePackstring("n", "ab"), new Uint8Array([0, 2, 0x61, 0x62]));
  assert.deepEqual(encodePackstring("v", "ab"), new Uint8Array([2, 0, 0x61, 0x62]));
  assert.deepEqual(encodePackstring("N", "a"), new Uint8Array([0, 0, 0, 1, 0x61]));
  assert.deepEqual(encodePackstring("V", "a"), new Uint8Array([1, 0, 0, 0, 0x61]));
  assert.deepEqual(encodePackstring("w", "c"), new Uint8Array([1, 0x63]));
  assert.deepEqual(encodePackstring("Q>", "").subarray(0, 8), new Uint8Array(8));
  assert.deepEqual(
    encodePackstring("w", new Uint8Array(300)).subarray(0, 2),
    new Uint8Array([0x82, 0x2c]),
  );
  assert.deepEqual(
    encodePackstring("w", new Uint8Array(16384)).subarray(0, 3),
    new Uint8Array([0x81, 0x80, 0x00]),
  );
});

Deno.test("packstring: data too long for the prefix throws EMSGSIZE and encodes nothing", () => {
  assert.throws(
    () => encodePackstring("C", new Uint8Array(256)),
    (e) => e instanceof HandleError && e.code === "EMSGSIZE" && !e.fatal,
  );
  assert.throws(() => encodePackstring("c", new Uint8Array(128)), HandleError);
  assert.throws(() => encodePackstring("n", new Uint8Array(65536)), HandleError);
  assert.equal(encodePackstring("C", new Uint8Array(255)).length, 256);
  assert.equal(encodePackstring("n", new Uint8Array(65535)).length, 65537);
});

Deno.test("packstring: unsupported formats throw RangeError", () => {
  for (const bad of ["", "x", "N<", "a*", "NN", "w!"]) {
    assert.throws(() => packstringDecoder(bad), RangeError, bad);
    assert.throws(() => encodePackstring(bad, "a"), RangeError, bad);
  }
});

Deno.test("packstring: a length over maxLength fails with EMSGSIZE before the payload", () => {
  const make = (f: string) => () => packstringDecoder(f, { maxLength: 100 });
  const n = run(make("N"), [new Uint8Array([0, 0, 0, 101])]);
  assert.deepEqual(n.error, { code: "EMSGSIZE", fatal: true });
  assert.equal(n.left, 4);
  assert.deepEqual(run(make("N"), [new Uint8Array([0, 0, 0, 100])]).error, undefined);
  // BER: fails as soon as the bytes so far exceed the limit, even mid-prefix.
  const w = run(make("w"), [new Uint8Array([0x81, 0x80])]);
  assert.deepEqual(w.error, { code: "EMSGSIZE", fatal: true });
  // A hostile 64-bit length is refused without waiting for 2^63 bytes.
  const q = run(make("Q>"), [new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
  assert.deepEqual(q.error, { code: "EMSGSIZE", fatal: true });
});

Deno.test("packstring: a negative length in a signed format is EBADMSG", () => {
  const out = run(() => packstringDecoder("c"), [new Uint8Array([0xff, 1])]);
  assert.deepEqual(out.error, { code: "EBADMSG", fatal: true });
  assert.equal(out.left, 2);
});
