/**
 * The text reads decode a run of the buffer at once and cut each frame of a pipelined burst
 * from it: the regex read and the RegExp line marker from the whole buffer's text, a string
 * line marker from a window of it. These tests hold them to what decoding per frame gives (the
 * references below: the decoders as they were), byte for byte, with a regex match's index and
 * input, however the input is split and whatever else reads the same buffer.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { lineDecoder, NEED_MORE, ReadBuffer, regexDecoder } from "../mod.ts";
import { byteOffsetOfUnit } from "../codecs/_utf8.ts";
import { cut, utf8 } from "./_split.ts";

type Frame = { data: string; index: number; found: string; input: string };

/** The reference: every attempt decodes the whole rest of the buffer. */
function reference(accept: RegExp): (buf: ReadBuffer) => Frame | undefined {
  const re = new RegExp(accept.source, accept.flags + "g");
  return (buf) => {
    const text = buf.text();
    re.lastIndex = 0;
    const match = re.exec(text);
    if (match === null) return undefined;
    const end = byteOffsetOfUnit(buf.view(0), match.index + match[0].length);
    const data = buf.text(0, end);
    buf.consume(end);
    return { data, index: match.index, found: match[0], input: match.input };
  };
}

/** The library's decoder, fresh per frame (`pushRead` re-pushed) or kept (`iterate`). */
function library(accept: RegExp, fresh: boolean): (buf: ReadBuffer) => Frame | undefined {
  let decoder = regexDecoder(accept);
  return (buf) => {
    if (fresh) decoder = regexDecoder(accept);
    const out = decoder.decode(buf);
    if (out === NEED_MORE) return undefined;
    const [data, match] = out;
    return { data, index: match.index, found: match[0], input: match.input };
  };
}

/** The reference line read with a RegExp marker (no `maxLength` reached). */
function lineReference(eol: RegExp): (buf: ReadBuffer) => Frame | undefined {
  const re = new RegExp(eol.source, eol.flags + "g");
  return (buf) => {
    const text = buf.text();
    re.lastIndex = 0;
    const match = re.exec(text);
    if (match === null) return undefined;
    const view = buf.view(0);
    const start = byteOffsetOfUnit(view, match.index);
    buf.consume(start + byteOffsetOfUnit(view.subarray(start), match[0].length));
    return { data: text.slice(0, match.index), index: 0, found: match[0], input: "" };
  };
}

/** The library's line read with a RegExp or string marker, fresh per line or kept. */
function lineLibrary(eol: RegExp | string, fresh: boolean): (buf: ReadBuffer) => Frame | undefined {
  let decoder = lineDecoder(eol);
  return (buf) => {
    if (fresh) decoder = lineDecoder(eol);
    const out = decoder.decode(buf);
    if (out === NEED_MORE) return undefined;
    return { data: out[0], index: 0, found: out[1], input: "" };
  };
}

/** The reference line read with a string marker: each line decoded on its own. */
function stringReference(eol: string): (buf: ReadBuffer) => Frame | undefined {
  const marker = new TextEncoder().encode(eol);
  return (buf) => {
    const at = buf.indexOf(marker.length === 1 ? marker[0] : marker);
    if (at < 0) return undefined;
    const data = buf.text(0, at);
    buf.consume(at + marker.length);
    return { data, index: 0, found: eol, input: "" };
  };
}

/** Feeds `pieces`, taking every frame after each; a line is read between frames when asked. */
function frames(
  take: (buf: ReadBuffer) => Frame | undefined,
  pieces: Uint8Array[],
  lineEvery = 0,
): (Frame | string)[] {
  const buf = new ReadBuffer();
  const lines = lineDecoder();
  const out: (Frame | string)[] = [];
  for (const piece of pieces) {
    buf.append(piece);
    for (let frame; (frame = take(buf)) !== undefined;) {
      out.push(frame);
      if (lineEvery > 0 && out.length % lineEvery === 0) {
        const line = lines.decode(buf);
        if (line !== NEED_MORE) out.push(`line:${line[0]}`);
      }
    }
  }
  out.push(`left:${buf.length}`);
  return out;
}

const pieces = ["a", ";", "\n", "é", "€", "😀", "\ufeff", "\r\n\r\n", "xyz;"];
const bytes = fc.array(
  fc.oneof(
    fc.constantFrom(...pieces).map(utf8),
    fc.constantFrom(0xff, 0x80, 0xe2, 0xf0, 0xc3, 0xed).map((b) => new Uint8Array([b])),
  ),
  { maxLength: 40 },
).map((parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
});

type Take = (buf: ReadBuffer) => Frame | undefined;

/**
 * Fuzzes bursts: the library's decoder (made per frame, as a read with a changeable argument,
 * or kept) against the reference, the input cut at random points, with line reads in between.
 */
function agreesOnBursts(name: string, library: (fresh: boolean) => Take, reference: () => Take) {
  Deno.test(name, () => {
    fc.assert(
      fc.property(
        bytes,
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        fc.nat(3),
        (wire, points, fresh, lineEvery) => {
          const split = cut(wire, points);
          const expected = frames(reference(), split, lineEvery);
          assert.deepEqual(frames(library(fresh), split, lineEvery), expected);
        },
      ),
      { numRuns: 300 },
    );
  });
}

for (const accept of [/;/, /\r\n\r\n/, /\uD83D/, /[^ -~]+;?/, /\n|\ufffd/, /a+/, /^a/]) {
  agreesOnBursts(
    `regex ${accept}: a burst decoded once gives what decoding per frame gave`,
    (fresh) => library(accept, fresh),
    () => reference(accept),
  );
}

// A marker that ends between the halves of a surrogate pair is left out: the line it cuts was
// never well defined (the old decoder ended the line mid-pair and consumed the whole character).
for (const eol of [/\r?\n/, /;/, /[^ -~]+/, /\n|\ufffd/, /a+/]) {
  agreesOnBursts(
    `line ${eol}: a burst decoded once gives what decoding per line gave`,
    (fresh) => lineLibrary(eol, fresh),
    () => lineReference(eol),
  );
}

for (const eol of [";", "\r\n", "é", "😀", "\n\n", "xyz;", "\ufffd", "\uD83D"]) {
  agreesOnBursts(
    `line ${JSON.stringify(eol)}: a burst cut from one decoding gives what decoding per line gave`,
    (fresh) => lineLibrary(eol, fresh),
    () => stringReference(eol),
  );
}

Deno.test("regex: a pipelined burst of heads is cut from one decoding, exactly", () => {
  const head = (i: number) => `GET /${i} HTTP/1.1\r\nHost: é${i}\r\n\r\n`;
  const wire = utf8(Array.from({ length: 300 }, (_, i) => head(i)).join("") + "GET /tail");
  const got = frames(library(/\r\n\r\n/, true), [wire]);
  assert.equal(got.length, 301);
  for (let i = 0; i < 300; i++) {
    const frame = got[i] as Frame;
    assert.equal(frame.data, head(i));
    assert.equal(frame.index, head(i).length - 4);
  }
  assert.equal(got[300], `left:${"GET /tail".length}`);
});

Deno.test("regex and lines: frames cut from a long text match decoding per frame", () => {
  // Past 16 KiB of text, frames come from spans decoded on their own (or are decoded alone).
  const long = utf8("x".repeat(20_000) + ";" + "ab;".repeat(3000));
  const check = (library: (fresh: boolean) => Take, reference: () => Take) =>
    fc.assert(
      fc.property(
        bytes,
        fc.array(fc.nat(), { maxLength: 3 }),
        fc.boolean(),
        (tail, points, fresh) => {
          const wire = new Uint8Array(long.length + tail.length);
          wire.set(long);
          wire.set(tail, long.length);
          const split = cut(wire, points.map((p) => p * 7919));
          assert.deepEqual(frames(library(fresh), split), frames(reference(), split));
        },
      ),
      { numRuns: 15 },
    );
  for (const accept of [/;/, /\uD83D/, /\n|\ufffd/]) {
    check((fresh) => library(accept, fresh), () => reference(accept));
  }
  for (const eol of [/;/, /\n|\ufffd/]) {
    check((fresh) => lineLibrary(eol, fresh), () => lineReference(eol));
  }
  for (const eol of [";", "é", "😀"]) {
    check((fresh) => lineLibrary(eol, fresh), () => stringReference(eol));
  }
});

Deno.test("lines: string-marker windows end at character boundaries in long multi-byte text", () => {
  // Windows start at 256 bytes and double: a run of a few KiB cuts them inside characters.
  fc.assert(
    fc.property(
      bytes,
      fc.constantFrom(";", "😀", "\r\n"),
      fc.array(fc.nat(), { maxLength: 3 }),
      fc.boolean(),
      (unit, eol, points, fresh) => {
        const body = utf8(`é€😀${eol}`);
        const copies = Math.ceil(4096 / (unit.length + body.length));
        const wire = new Uint8Array(copies * (unit.length + body.length));
        for (let i = 0, at = 0; i < copies; i++) {
          wire.set(unit, at);
          wire.set(body, at += unit.length);
          at += body.length;
        }
        const split = cut(wire, points.map((p) => p * 257));
        assert.deepEqual(
          frames(lineLibrary(eol, fresh), split),
          frames(stringReference(eol), split),
        );
      },
    ),
    { numRuns: 100 },
  );
});
