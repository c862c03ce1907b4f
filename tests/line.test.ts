import assert from "node:assert/strict";
import { HandleError, type Line, lineDecoder, NEED_MORE, ReadBuffer } from "../mod.ts";
import { run, sameEverySplit, utf8 } from "./_split.ts";

Deno.test("line: default eol splits at LF, strips one CR, keeps a lone CR", () => {
  const out = sameEverySplit(() => lineDecoder(), utf8("a\rb\n\r\r\nplain\n\nCRLF\r\n"));
  assert.deepEqual(out.values, [
    ["a\rb", "\n"],
    ["\r", "\r\n"],
    ["plain", "\n"],
    ["", "\n"],
    ["CRLF", "\r\n"],
  ]);
  assert.equal(out.left, 0);
});

Deno.test("line: a CR at the end of the buffer waits for what follows", () => {
  assert.deepEqual(run(() => lineDecoder(), [utf8("abc\r")]), { values: [], left: 4 });
  assert.deepEqual(run(() => lineDecoder(), [utf8("abc\r"), utf8("\n")]).values, [["abc", "\r\n"]]);
  assert.deepEqual(run(() => lineDecoder(), [utf8("abc\r"), utf8("x\n")]).values, [[
    "abc\rx",
    "\n",
  ]]);
});

Deno.test("line: a partial last line is never delivered, even at end of input", () => {
  assert.deepEqual(run(() => lineDecoder(), [utf8("one\ntwo")], true), {
    values: [["one", "\n"]],
    left: 3,
  });
});

Deno.test("line: string eols, single and multi-byte, split anywhere", () => {
  const semi = sameEverySplit(() => lineDecoder(";"), utf8("a;b;;c"));
  assert.deepEqual(semi.values, [["a", ";"], ["b", ";"], ["", ";"]]);
  assert.equal(semi.left, 1);
  const end = sameEverySplit(() => lineDecoder("<END>"), utf8("x<EN<END>y<END><END"));
  assert.deepEqual(end.values, [["x<EN", "<END>"], ["y", "<END>"]]);
  const crlf = sameEverySplit(() => lineDecoder({ eol: "\r\n" }), utf8("a\nb\r\nc\r\r\n"));
  assert.deepEqual(crlf.values, [["a\nb", "\r\n"], ["c\r", "\r\n"]]);
  const unicode = sameEverySplit(() => lineDecoder("§"), utf8("αβ§γ§"));
  assert.deepEqual(unicode.values, [["αβ", "§"], ["γ", "§"]]);
});

Deno.test("line: an empty eol fires at once with two empty strings", () => {
  const buf = new ReadBuffer();
  assert.deepEqual(lineDecoder("").decode(buf), ["", ""]);
  buf.append(utf8("x"));
  assert.deepEqual(lineDecoder("").decode(buf), ["", ""]);
  assert.equal(buf.length, 1);
});

Deno.test("line: RegExp eols take the leftmost match", () => {
  const out = sameEverySplit(() => lineDecoder(/\r?\n|;/), utf8("a;b\r\nc\nd"));
  assert.deepEqual(out.values, [["a", ";"], ["b", "\r\n"], ["c", "\n"]]);
  assert.equal(out.left, 1);
  const nonAscii = sameEverySplit(() => lineDecoder(/§/), utf8("x§yé§"));
  assert.deepEqual(nonAscii.values, [["x", "§"], ["yé", "§"]]);
});

Deno.test("line: multi-byte characters split at every byte give the same line", () => {
  for (const ch of ["é", "€", "😀"]) {
    const out = sameEverySplit(() => lineDecoder(), utf8(`${ch}${ch}\n${ch}\n`));
    assert.deepEqual(out.values, [[`${ch}${ch}`, "\n"], [ch, "\n"]], ch);
  }
});

Deno.test("line: invalid UTF-8 becomes U+FFFD and the bytes consumed are exact", () => {
  const wire = new Uint8Array([0x61, 0xff, 0xe2, 0x82, 0x0a, 0xf0, 0x9f, 0x0a, 0x62, 0x0a]);
  for (const make of [() => lineDecoder(), () => lineDecoder("\n"), () => lineDecoder(/\n/)]) {
    const out = sameEverySplit(make, wire);
    assert.deepEqual(out.values, [["a\ufffd\ufffd", "\n"], ["\ufffd", "\n"], ["b", "\n"]]);
    assert.equal(out.left, 0);
  }
});

Deno.test("line: another reader consuming between lines is respected", () => {
  const buf = new ReadBuffer();
  const d = lineDecoder();
  buf.append(utf8("first\nsecond\nthird\n"));
  assert.deepEqual(d.decode(buf), ["first", "\n"]);
  buf.consume(2); // someone else takes "se"
  assert.deepEqual(d.decode(buf), ["cond", "\n"]);
  const other = lineDecoder();
  assert.deepEqual(other.decode(buf), ["third", "\n"]);
  assert.equal(d.decode(buf), NEED_MORE);
});

Deno.test("line: a resumed search is correct when bytes in front are consumed meanwhile", () => {
  const buf = new ReadBuffer();
  const d = lineDecoder();
  buf.append(utf8("abcdef"));
  assert.equal(d.decode(buf), NEED_MORE);
  buf.consume(3);
  buf.append(utf8("gh\nnext\n"));
  assert.deepEqual(d.decode(buf), ["defgh", "\n"]);
  assert.deepEqual(d.decode(buf), ["next", "\n"]);
});

Deno.test("line: a 1 MiB line arriving in 4 KiB pieces is scanned about once", () => {
  const buf = new ReadBuffer();
  const d = lineDecoder({ maxLength: 2 << 20 });
  const piece = new Uint8Array(4096).fill(0x78);
  for (let i = 0; i < 256; i++) {
    buf.append(piece);
    assert.equal(d.decode(buf), NEED_MORE);
  }
  buf.append(utf8("\n"));
  const line = d.decode(buf) as readonly [string, string];
  assert.equal(line[0].length, 1 << 20);
  assert.ok(buf.bytesScanned <= 2 * (1 << 20), `scanned ${buf.bytesScanned}`);
});

Deno.test("line: maxLength accepts exactly maxLength, fails at once past it, consumes nothing", () => {
  const make = () => lineDecoder({ maxLength: 5 });
  assert.deepEqual(run(make, [utf8("12345\r\n")]).values, [["12345", "\r\n"]]);
  // 6 bytes without LF: the line could still be "12345\r" + "\n" — wait.
  assert.deepEqual(run(make, [utf8("12345\r")]), { values: [], left: 6 });
  // 7 bytes without LF: certainly too long.
  const over = run(make, [utf8("1234567")]);
  assert.deepEqual(over.error, { code: "EMSGSIZE", fatal: true });
  assert.equal(over.left, 7);
  assert.deepEqual(run(make, [utf8("123456\n")]).error, { code: "EMSGSIZE", fatal: true });
  const str = () => lineDecoder({ eol: "<>", maxLength: 3 });
  assert.deepEqual(run(str, [utf8("abc<")]), { values: [], left: 4 });
  assert.deepEqual(run(str, [utf8("abcd<")]).error, { code: "EMSGSIZE", fatal: true });
});

Deno.test("line: discard mode skips an over-long line and goes on", () => {
  const make = () => lineDecoder({ maxLength: 4, discard: true });
  const buf = new ReadBuffer();
  const d = make();
  buf.append(utf8("ok\nthis is far too long"));
  assert.deepEqual(d.decode(buf), ["ok", "\n"]);
  assert.throws(
    () => d.decode(buf),
    (e) => e instanceof HandleError && e.code === "EMSGSIZE" && e.fatal === false,
  );
  assert.equal(buf.length, 0, "the bytes of the long line are dropped as they come");
  buf.append(utf8(" still\r\nnext\n"));
  assert.deepEqual(d.decode(buf), ["next", "\n"]);
  const str = lineDecoder({ eol: "\r\n", maxLength: 2, discard: true });
  const b2 = new ReadBuffer();
  b2.append(utf8("abcdef\r"));
  assert.throws(() => str.decode(b2));
  b2.append(utf8("\nxy\r\n"));
  assert.deepEqual(str.decode(b2), ["xy", "\r\n"]);
});

Deno.test("line: bad options throw synchronously", () => {
  for (const maxLength of [0, -1, 1.5, NaN]) {
    assert.throws(() => lineDecoder({ maxLength }), RangeError, String(maxLength));
  }
  assert.throws(() => lineDecoder({ eol: 5 as never }), TypeError);
  assert.throws(() => lineDecoder({ eol: /x/, discard: true }), RangeError);
  lineDecoder({ maxLength: Infinity });
});

Deno.test("line: decodeFirst cuts what decode cuts, at every split point", () => {
  const text = utf8("é€\r\n\n𝄞 split\rx\r\nabcdefghij\nabcdefghijk\nrest");
  for (const options of [{}, { maxLength: 10 }]) {
    const firsts = () => {
      const lines = lineDecoder(options);
      let cut = 0;
      // Alternates the two methods on one decoder, which share its state.
      return {
        decode(buf: ReadBuffer) {
          const v = cut % 2 === 0 ? lines.decode(buf) : lines.decodeFirst!(buf);
          if (v === NEED_MORE) return v;
          cut++;
          return typeof v === "string" ? v : (v as Line)[0];
        },
      };
    };
    const alternating = sameEverySplit(firsts, text);
    const whole = sameEverySplit(() => lineDecoder(options), text);
    assert.deepEqual(alternating.values, whole.values.map((v) => (v as Line)[0]));
    assert.deepEqual(alternating.error, whole.error);
    assert.equal(alternating.values.length, options.maxLength ? 2 : 5);
    assert.equal(alternating.error?.code, options.maxLength ? "EMSGSIZE" : undefined);
  }
});
