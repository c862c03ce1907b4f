/**
 * Property tests (fast-check): random payloads, random sequences of codecs and random read
 * splits; what is decoded equals what was encoded, and no byte is lost between frames.
 */
import assert from "node:assert/strict";
import { concat, cut } from "./_split.ts";
import fc from "fast-check";
import {
  chunkDecoder,
  type Decoder,
  encodeJson,
  encodeNetstring,
  encodePackstring,
  jsonDecoder,
  lineDecoder,
  NEED_MORE,
  netstringDecoder,
  packstringDecoder,
  ReadBuffer,
} from "../mod.ts";

/** One frame: its wire bytes, a decoder for it, and the value the decoder must give. */
interface Frame {
  wire: Uint8Array;
  decoder: () => Decoder<unknown>;
  expected: unknown;
}

const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 1000, maxLength: 5000 }),
);
const noNewline = fc.string({ unit: "binary", maxLength: 80 }).filter((s) => !s.includes("\n"));
// Containers and strings end themselves; a top-level number would run into a following digit
// (json.test.ts covers scalars and their delimiters).
const jsonValue = fc.oneof(
  fc.array(fc.jsonValue({ maxDepth: 3 })),
  fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
  fc.string(),
).map((v) => JSON.parse(JSON.stringify(v)));

const frame: fc.Arbitrary<Frame> = fc.oneof(
  bytes.map((b) => ({ wire: encodeNetstring(b), decoder: () => netstringDecoder(), expected: b })),
  fc.tuple(fc.constantFrom("C", "n", "N", "v", "V", "w", "Q>", "Q<"), bytes)
    .filter(([f, b]) => f !== "C" || b.length < 256)
    .map(([f, b]) => ({
      wire: encodePackstring(f, b),
      decoder: () => packstringDecoder(f),
      expected: b,
    })),
  // The default eol takes one CR before the LF with it: a text ending in CR then a bare LF
  // reads back as a shorter line with eol "\r\n" (line.test.ts covers that case).
  fc.tuple(noNewline, fc.constantFrom("\n", "\r\n")).filter(([text, eol]) =>
    !(eol === "\n" && text.endsWith("\r"))
  ).map(([text, eol]) => {
    // Lone surrogates do not survive UTF-8: compare with what the encoder made of them.
    const wire = new TextEncoder().encode(text + eol);
    const roundTripped = new TextDecoder().decode(wire.subarray(0, wire.length - eol.length));
    return { wire, decoder: () => lineDecoder(), expected: [roundTripped, eol] };
  }),
  jsonValue.map((v) => ({ wire: encodeJson(v), decoder: () => jsonDecoder(), expected: v })),
  bytes.map((b) => ({ wire: b, decoder: () => chunkDecoder(b.length), expected: b })),
);

Deno.test("property: a random sequence of codecs over random splits decodes what was encoded", () => {
  fc.assert(
    fc.property(
      fc.array(frame, { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (frames, points) => {
        const wire = concat(...frames.map((f) => f.wire));
        const buf = new ReadBuffer();
        const decoded: unknown[] = [];
        let index = 0;
        let decoder = frames[0].decoder();
        for (const piece of cut(wire, points)) {
          buf.append(piece);
          while (index < frames.length) {
            const v = decoder.decode(buf);
            if (v === NEED_MORE) break;
            decoded.push(v);
            if (++index < frames.length) decoder = frames[index].decoder();
          }
        }
        assert.deepEqual(decoded, frames.map((f) => f.expected));
        assert.equal(buf.length, 0, "no byte is left over or lost");
      },
    ),
    { numRuns: 300 },
  );
});
