/**
 * The `lines` read type: runs of lines are the lines `line` reads give one by one, whatever
 * the splits, and its failures come after the lines before them.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  chunkDecoder,
  type Decoder,
  HandleError,
  lineDecoder,
  type LineOptions,
  lines,
  linesDecoder,
  NEED_MORE,
  ReadBuffer,
} from "../mod.ts";
import { concat, cut, splits, utf8 } from "./_split.ts";
import { pair, writeAll } from "./_net.ts";

/** What a decoder gave for `pieces` appended one by one: values, then an error code if any. */
function feed(decoder: Decoder<unknown>, pieces: Uint8Array[]) {
  const buf = new ReadBuffer();
  const values: unknown[] = [];
  let error: string | undefined;
  try {
    for (const piece of pieces) {
      buf.append(piece);
      for (let v; (v = decoder.decode(buf)) !== NEED_MORE;) values.push(v);
    }
  } catch (e) {
    error = (e as HandleError).code;
  }
  return { values, error, left: buf.text() };
}

/** The runs of `lines`, flattened, against `line` reads of the same pieces. */
function assertSameAsLine(option: string | RegExp | LineOptions | undefined, pieces: Uint8Array[]) {
  const runs = feed(linesDecoder(option), pieces);
  const one = feed(lineDecoder(option), pieces);
  for (const run of runs.values) assert.ok((run as string[]).length > 0, "an empty run");
  assert.deepEqual(
    { lines: runs.values.flat(), error: runs.error, left: runs.left },
    { lines: one.values.map((v) => (v as [string, string])[0]), error: one.error, left: one.left },
  );
  return runs.values as string[][];
}

const MIXED = utf8("a\rb\n\r\r\nplain\n\nCRLF\r\nαβ😀\nrest");

Deno.test("lines: every complete line buffered, in one run, markers stripped", () => {
  const buf = new ReadBuffer();
  buf.append(MIXED);
  assert.deepEqual(linesDecoder().decode(buf), ["a\rb", "\r", "plain", "", "CRLF", "αβ😀"]);
  assert.equal(buf.text(), "rest");
  assert.equal(linesDecoder().decode(buf), NEED_MORE);
});

Deno.test("lines: split at every byte, runs hold the lines line reads give", () => {
  const invalid = concat("ok\n", new Uint8Array([0xff, 0xc3]), "\nx\xe9\n");
  for (const bytes of [MIXED, invalid, utf8("é\r\n".repeat(5))]) {
    for (const pieces of splits(bytes)) assertSameAsLine(undefined, pieces);
  }
  for (const pieces of splits(utf8("a;b;;c§d;"))) assertSameAsLine(";", pieces);
  for (const pieces of splits(utf8("x<END>y<EN<END>"))) assertSameAsLine("<END>", pieces);
  for (const pieces of splits(utf8("a;b\r\nc\nd"))) assertSameAsLine(/\r?\n|;/, pieces);
});

Deno.test("lines: the whole buffer is one run, past the decoded window of 16 KiB", () => {
  const many = utf8("0123456789abcde\n".repeat(5000));
  const buf = new ReadBuffer();
  buf.append(many);
  const run = linesDecoder().decode(buf) as string[];
  assert.equal(run.length, 5000);
  assert.ok(run.every((l) => l === "0123456789abcde"));
  assert.equal(buf.length, 0);
});

Deno.test("lines: fuzzed text and splits agree with line reads", () => {
  // ASCII alone takes the run cut from the decoded window; the rest goes line by line.
  const ascii = fc.constantFrom("a", "bcdefgh", "\n", "\r", ";");
  const any = fc.constantFrom("a", "b", "\n", "\r", "é", "😀", "\ufffd", ";");
  fc.assert(
    fc.property(
      fc.oneof(fc.array(ascii, { maxLength: 300 }), fc.array(any, { maxLength: 300 })),
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.constantFrom<string | RegExp | LineOptions | undefined>(
        undefined,
        ";",
        "\r\n",
        /;|\n/,
        { maxLength: 6 },
        { maxLength: 6, discard: true },
        { eol: ";", maxLength: 6 },
        { eol: "\r\n", maxLength: 5, discard: true },
      ),
      (units, points, option) => {
        const bytes = utf8(units.join(""));
        assertSameAsLine(option, cut(bytes, points));
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("lines: runs, single lines and chunks interleaved on one buffer read the same bytes", () => {
  // The line decoders share the buffer's decoded window (one for the default marker, one for
  // string markers); other readers consume under it.
  const unit = fc.constantFrom("ab", "c", "\n", "\r\n", "é", "xyz\n", ";", "d;");
  const step = fc.constantFrom("lines", "line", "chunk");
  fc.assert(
    fc.property(
      fc.constantFrom(undefined, ";"),
      fc.array(unit, { maxLength: 120 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.array(fc.tuple(step, fc.integer({ min: 1, max: 5 })), { maxLength: 40 }),
      (eol, units, points, steps) => {
        const bytes = utf8(units.join(""));
        const buf = new ReadBuffer();
        const runs = linesDecoder(eol);
        const one = lineDecoder(eol);
        const mark = eol === undefined ? 0x0a : 0x3b;
        let expected = bytes; // what is left to read, as the reference sees it
        const line = () => {
          const at = expected.indexOf(mark);
          const end = eol === undefined && at > 0 && expected[at - 1] === 0x0d ? at - 1 : at;
          const text = new TextDecoder().decode(expected.subarray(0, end));
          expected = expected.subarray(at + 1);
          return text;
        };
        const pieces = cut(bytes, points);
        for (const [kind, n] of steps) {
          if (pieces.length > 0 && n % 2 === 0) buf.append(pieces.shift()!); // more arrives
          const arrived = bytes.length - pieces.reduce((sum, p) => sum + p.length, 0);
          const buffered = expected.subarray(0, arrived - (bytes.length - expected.length));
          if (kind === "chunk") {
            const got = chunkDecoder(n).decode(buf);
            if (buffered.length < n) assert.equal(got, NEED_MORE);
            else {
              assert.deepEqual(got, expected.slice(0, n));
              expected = expected.subarray(n);
            }
          } else if (kind === "line") {
            const got = one.decode(buf);
            const complete = buffered.includes(mark);
            assert.deepEqual(got === NEED_MORE ? undefined : got[0], complete ? line() : undefined);
          } else {
            const got = runs.decode(buf);
            const want: string[] = [];
            for (let left = buffered; left.includes(mark);) {
              left = left.subarray(left.indexOf(mark) + 1);
              want.push(line());
            }
            assert.deepEqual(got === NEED_MORE ? [] : got, want);
          }
          assert.equal(buf.length, expected.length - pieces.reduce((sum, p) => sum + p.length, 0));
        }
      },
    ),
    { numRuns: 1500 },
  );
});

Deno.test("lines: a line over maxLength ends the run before it, then fails", () => {
  const decoder = linesDecoder({ maxLength: 3 });
  const buf = new ReadBuffer();
  buf.append(utf8("one\ntwo\nthree\nfour\n"));
  assert.deepEqual(decoder.decode(buf), ["one", "two"]);
  assert.throws(
    () => decoder.decode(buf),
    (e) => e instanceof HandleError && e.code === "EMSGSIZE" && e.fatal,
  );
  assert.equal(buf.text(), "three\nfour\n", "nothing of the failing line is consumed");
  // Non-ASCII text takes the line-by-line path: the same limit, in bytes.
  const wide = linesDecoder({ maxLength: 4 });
  buf.consume(buf.length);
  buf.append(utf8("éé\néée\n"));
  assert.deepEqual(wide.decode(buf), ["éé"]);
  assert.throws(() => wide.decode(buf), (e) => e instanceof HandleError && e.code === "EMSGSIZE");
});

Deno.test("lines: discard skips an over-long line between two runs", () => {
  const decoder = linesDecoder({ maxLength: 3, discard: true });
  assert.equal(decoder.skips, true);
  const buf = new ReadBuffer();
  buf.append(utf8("one\nthree-and-more"));
  assert.deepEqual(decoder.decode(buf), ["one"]);
  assert.throws(
    () => decoder.decode(buf),
    (e) => e instanceof HandleError && e.code === "EMSGSIZE" && !e.fatal,
  );
  assert.equal(decoder.decode(buf), NEED_MORE); // still skipping: the rest has not come
  buf.append(utf8("-still\ntwo\nsix\n"));
  assert.deepEqual(decoder.decode(buf), ["two", "six"]);
  assert.equal(buf.length, 0);
});

Deno.test("lines: an empty marker is refused, a marker matching nothing ends the run", () => {
  assert.throws(() => linesDecoder(""), RangeError);
  assert.throws(() => linesDecoder({ eol: "" }), RangeError);
  const buf = new ReadBuffer();
  buf.append(utf8("abc"));
  assert.deepEqual(linesDecoder(/x*/).decode(buf), [""]);
  assert.equal(buf.length, 3);
});

Deno.test("lines: iterate over a socket gives every line once, in order, then ends", async () => {
  const { h, peer, close } = await pair();
  try {
    const sent: string[] = [];
    const writing = (async () => {
      for (let i = 0; i < 200; i++) {
        const batch = Array.from({ length: i % 7 }, (_, j) => `line ${i}.${j} é`);
        sent.push(...batch);
        // Lines cut anywhere, markers and characters included.
        const bytes = utf8(batch.map((l) => `${l}\r\n`).join(""));
        const at = i % (bytes.length + 1);
        await writeAll(peer, bytes.subarray(0, at));
        await writeAll(peer, bytes.subarray(at));
      }
      await peer.closeWrite();
    })();
    const got: string[] = [];
    let runs = 0;
    for await (const run of h.iterate("lines")) {
      assert.ok(run.length > 0);
      got.push(...run);
      runs++;
    }
    await writing;
    assert.deepEqual(got, sent);
    assert.ok(runs <= sent.length);
  } finally {
    await close();
  }
});

Deno.test("lines: pushRead re-pushed answers each run with one write", async () => {
  const { h, peer, close } = await pair();
  try {
    const onRun = (hh: typeof h, run: string[]) => {
      hh.pushWrite(run.map((l) => `${l.toUpperCase()}\n`).join(""));
      hh.pushRead(lines, onRun);
    };
    h.pushRead(lines, onRun);
    await writeAll(peer, "a\nb\nc\n");
    const want = "A\nB\nC\n";
    const reply = new Uint8Array(want.length);
    for (let got = 0; got < reply.length;) got += (await peer.read(reply.subarray(got)))!;
    assert.equal(new TextDecoder().decode(reply), want);
  } finally {
    await close();
  }
});

Deno.test("lines: a partial last line at end of input is EPIPE after the lines before it", async () => {
  const errors: string[] = [];
  const { h, peer, close } = await pair({ onError: (_h, e) => void errors.push(e.code) });
  try {
    const run = h.read(lines, "\n");
    await writeAll(peer, "x\ny\npartial");
    await peer.closeWrite();
    assert.deepEqual(await run, ["x", "y"]);
    await assert.rejects(h.read("lines"), (e) => e instanceof HandleError && e.code === "EPIPE");
  } finally {
    await close();
  }
});
