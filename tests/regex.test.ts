import assert from "node:assert/strict";
import { ReadBuffer, regexDecoder } from "../mod.ts";
import { run, sameEverySplit, utf8 } from "./_split.ts";

const dataOf = (values: unknown[]) => values.map((v) => (v as [string])[0]);

Deno.test("regex: accept delivers everything through the end of the match", () => {
  const out = sameEverySplit(
    () => regexDecoder(/\r\n\r\n/),
    utf8("GET / HTTP/1.1\r\nA: b\r\n\r\nrest"),
  );
  assert.deepEqual(dataOf(out.values), ["GET / HTTP/1.1\r\nA: b\r\n\r\n"]);
  assert.equal(out.left, 4);
});

Deno.test("regex: capture groups are passed with the match", () => {
  const buf = new ReadBuffer();
  buf.append(utf8("x=42;"));
  const [data, match] = regexDecoder(/(?<key>\w+)=(\d+);/).decode(buf) as [string, RegExpExecArray];
  assert.equal(data, "x=42;");
  assert.equal(match[2], "42");
  assert.equal(match.groups?.key, "x");
});

Deno.test("regex: multi-byte text and invalid UTF-8 are consumed exactly", () => {
  const wire = new Uint8Array([...utf8("é€;"), 0xff, 0x3b, ...utf8("😀;")]);
  const out = sameEverySplit(() => regexDecoder(/;/), wire);
  assert.deepEqual(dataOf(out.values), ["é€;", "\ufffd;", "😀;"]);
  assert.equal(out.left, 0);
});

Deno.test("regex: reject fails with a fatal EBADMSG when accept does not match", () => {
  const out = run(() => regexDecoder(/\n/, { reject: /[^\x20-\x7e\n]/ }), [utf8("ok\x01")]);
  assert.deepEqual(out.error, { code: "EBADMSG", fatal: true });
  assert.equal(out.left, 3);
  // Accept wins when both match.
  assert.deepEqual(
    dataOf(run(() => regexDecoder(/\n/, { reject: /x/ }), [utf8("x\n")]).values),
    ["x\n"],
  );
});

Deno.test("regex: skip moves the search start but keeps the bytes in the delivered data", () => {
  const make = () => regexDecoder(/END/, { skip: /^[^E]*/ });
  const out = sameEverySplit(make, utf8("aaaaaaaaEND"));
  assert.deepEqual(dataOf(out.values), ["aaaaaaaaEND"]);
  // Bytes are never moved out of the buffer while waiting.
  const buf = new ReadBuffer();
  const d = make();
  buf.append(utf8("aaaa"));
  d.decode(buf);
  assert.equal(buf.length, 4);
});

Deno.test("regex: more than maxLength bytes without a match is EMSGSIZE", () => {
  const out = run(() => regexDecoder(/\n/, { maxLength: 4 }), [utf8("abcde")]);
  assert.deepEqual(out.error, { code: "EMSGSIZE", fatal: true });
  assert.throws(() => regexDecoder("x" as never), TypeError);
});
