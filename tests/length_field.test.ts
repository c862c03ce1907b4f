/**
 * The lengthField codec: the byte diagrams of its documentation decoded at every split point,
 * fast-check round trips for every size and byte order, each error with its code and what is
 * left in the buffer, option checking, and reads and writes over a real socket pair.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeLengthField,
  HandleError,
  lengthField,
  type LengthFieldOptions,
  NEED_MORE,
  ReadBuffer,
} from "../mod.ts";
import { concat, run, sameEverySplit, utf8 } from "./_split.ts";
import { pair, writeAll } from "./_net.ts";

const HELLO = utf8("HELLO, WORLD");
const bytes = (...b: number[]) => new Uint8Array(b);

/** Decodes `wire` whole, at every split point and byte by byte; returns the outcome. */
function decodeAll(options: LengthFieldOptions, wire: Uint8Array, settings = {}) {
  const codec = lengthField(options);
  return sameEverySplit(() => codec.decoder(settings), wire);
}

Deno.test("lengthField: the documented diagrams decode exactly, at every split point", () => {
  const cases: [LengthFieldOptions, Uint8Array, Uint8Array][] = [
    [{ size: 2 }, concat(bytes(0, 12), HELLO), concat(bytes(0, 12), HELLO)],
    [{ size: 2, strip: 2 }, concat(bytes(0, 12), HELLO), HELLO],
    [{ size: 2, adjust: -2 }, concat(bytes(0, 14), HELLO), concat(bytes(0, 14), HELLO)],
    [
      { offset: 2, size: 3, endian: "little" },
      concat(bytes(0xca, 0xfe, 12, 0, 0), HELLO),
      concat(bytes(0xca, 0xfe, 12, 0, 0), HELLO),
    ],
    // Netty's "2 bytes length field at offset 1 in the middle of 4 bytes header, strip the
    // first header field and the length field": HDR1, LEN, HDR2, body; adjust 1, strip 3.
    [
      { offset: 1, size: 2, adjust: 1, strip: 3 },
      concat(bytes(0xca, 0, 12, 0xfe), HELLO),
      concat(bytes(0xfe), HELLO),
    ],
    // The same, the length counting the whole message: adjust -3.
    [
      { offset: 1, size: 2, adjust: -3, strip: 3 },
      concat(bytes(0xca, 0, 16, 0xfe), HELLO),
      concat(bytes(0xfe), HELLO),
    ],
  ];
  for (const [options, wire, frame] of cases) {
    const trailing = concat(wire, bytes(0xee)); // one byte of the next frame stays
    const out = decodeAll(options, trailing);
    assert.deepEqual(out.values, [frame], JSON.stringify(options));
    assert.equal(out.left, 1, JSON.stringify(options));
  }
});

Deno.test("lengthField: memcached's header, offset 8, size 4, adjust 12", () => {
  // A GET response for key-less "Hello": magic 0x81, opcode 0, extras 4 (flags), body 9.
  const response = bytes(
    ...[0x81, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00],
    ...[0x00, 0x00, 0x00, 0x09], // total body: 4 extras + 5 value
    ...[0x00, 0x00, 0x00, 0x07], // opaque
    ...[0, 0, 0, 0, 0, 0, 0, 1], // cas
    ...[0xde, 0xad, 0xbe, 0xef],
    ...utf8("Hello"),
  );
  const out = decodeAll({ offset: 8, size: 4, adjust: 12 }, concat(response, response));
  assert.deepEqual(out.values, [response, response]);
  assert.equal(out.left, 0);
});

Deno.test("lengthField: every size and byte order reads the field as an unsigned integer", () => {
  const field: Record<number, [number[], number[], number]> = {
    1: [[0xff], [0xff], 255],
    2: [[0x01, 0x02], [0x02, 0x01], 0x0102],
    3: [[0x01, 0x02, 0x03], [0x03, 0x02, 0x01], 0x010203],
    4: [[0x00, 0x01, 0x00, 0x02], [0x02, 0x00, 0x01, 0x00], 0x010002],
    8: [[0, 0, 0, 0, 0, 1, 0, 3], [3, 0, 1, 0, 0, 0, 0, 0], 0x010003],
  };
  for (const [size, [big, little, value]] of Object.entries(field)) {
    for (const [endian, header] of [["big", big], ["little", little]] as const) {
      const options = { size: Number(size) as 1, endian, strip: Number(size) };
      const decoder = lengthField(options).decoder({ maxFrameLength: Infinity });
      const buf = new ReadBuffer();
      buf.append(new Uint8Array(header));
      buf.append(new Uint8Array(value - 1));
      assert.equal(decoder.decode(buf), NEED_MORE, `size ${size} ${endian}`);
      assert.equal(decoder.readHint?.(buf), undefined, "no hint when stripping");
      buf.append(new Uint8Array(2));
      assert.equal((decoder.decode(buf) as Uint8Array).length, value, `size ${size} ${endian}`);
      assert.equal(buf.length, 1);
      // The encoder writes the same header.
      const encoded = encodeLengthField(lengthField(options).options, new Uint8Array(value));
      assert.deepEqual(encoded.subarray(0, header.length), new Uint8Array(header));
    }
  }
});

const SIZE = fc.constantFrom(1, 2, 3, 4, 8) as fc.Arbitrary<1 | 2 | 3 | 4 | 8>;
const ENDIAN = fc.constantFrom("big", "little") as fc.Arbitrary<"big" | "little">;

/** A random layout with bodies that fit it, and random cut points for the wire. */
const scenario = fc.record({
  size: SIZE,
  endian: ENDIAN,
  offset: fc.nat(5),
  adjust: fc.integer({
    min: -8,
    max: 8,
  }),
})
  .chain((l) =>
    fc.record({
      layout: fc.constant(l),
      strip: fc.nat(l.offset + l.size + Math.max(0, l.adjust)),
      prefixes: fc.array(fc.uint8Array({ minLength: l.offset, maxLength: l.offset }), {
        minLength: 1,
        maxLength: 6,
      }),
      bodies: fc.array(
        fc.uint8Array({
          minLength: Math.max(0, l.adjust),
          // Large enough to cross 255 (1 byte) only where the field can hold it.
          maxLength: l.size === 1 ? 255 + Math.min(0, l.adjust) : 600,
        }),
        { minLength: 1, maxLength: 6 },
      ),
      cuts: fc.array(fc.nat(4000), { maxLength: 8 }),
    })
  );

Deno.test("lengthField: fast-check round trips for every size and byte order, any cuts", () => {
  fc.assert(
    fc.property(scenario, ({ layout, strip, prefixes, bodies, cuts }) => {
      const codec = lengthField({ ...layout, strip });
      const frames = bodies.map((body, i) => {
        const prefix = prefixes[i % prefixes.length];
        return layout.offset === 0 && i % 2 === 0
          ? codec.encoder({}, body) // no prefix given: zeros (none here)
          : codec.encoder({}, prefix, body);
      });
      const wire = concat(...frames);
      const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
      const pieces = [0, ...points, wire.length].slice(1).map((end, i, ends) =>
        wire.subarray(i === 0 ? 0 : ends[i - 1], end)
      );
      const out = run(() => codec.decoder({}), pieces);
      assert.equal(out.error, undefined);
      assert.deepEqual(out.values, frames.map((f) => f.subarray(strip)));
      assert.equal(out.left, 0);
      // The field holds body.length - adjust, and the header is offset + size bytes.
      for (const [i, f] of frames.entries()) {
        assert.equal(f.length, layout.offset + layout.size + bodies[i].length);
        assert.deepEqual(f.subarray(layout.offset + layout.size), bodies[i]);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("lengthField: with strip: offset + size, a read gives back what was written", () => {
  fc.assert(
    fc.property(SIZE, ENDIAN, fc.uint8Array({ maxLength: 255 }), (size, endian, body) => {
      const codec = lengthField({ size, endian, offset: 1, strip: 1 + size, prefix: "T" });
      const wire = codec.encoder({}, body);
      assert.equal(wire[0], 0x54);
      const out = run(() => codec.decoder({}), [wire]);
      assert.deepEqual(out.values, [body]);
    }),
  );
});

Deno.test("lengthField: a frame over maxLength is EMSGSIZE from the header alone; at maxLength it is read", () => {
  // maxLength counts the delivered frame: the whole frame without strip, the rest with it.
  const whole = run(() => lengthField({ size: 2, maxLength: 10 }).decoder({}), [bytes(0, 9)]);
  assert.deepEqual(whole.error, { code: "EMSGSIZE", fatal: true });
  assert.equal(whole.left, 2, "nothing consumed");
  const fits = lengthField({ size: 2, maxLength: 10 }).decoder({});
  const buf = new ReadBuffer();
  buf.append(concat(bytes(0, 8), new Uint8Array(8)));
  assert.equal((fits.decode(buf) as Uint8Array).length, 10);

  const stripped = lengthField({ size: 2, strip: 2, maxLength: 10 });
  assert.equal(run(() => stripped.decoder({}), [bytes(0, 10)]).error, undefined);
  assert.deepEqual(run(() => stripped.decoder({}), [bytes(0, 11)]).error, {
    code: "EMSGSIZE",
    fatal: true,
  });
  // A hostile 4-byte length fails before any of its 4 GB is buffered.
  const hostile = run(() => lengthField({ size: 4 }).decoder({}), [bytes(0xff, 0xff, 0xff, 0xff)]);
  assert.deepEqual(hostile.error, { code: "EMSGSIZE", fatal: true });
});

Deno.test("lengthField: the default maxLength is the handle's maxFrameLength, else 1 MiB", () => {
  const codec = lengthField({ size: 4, strip: 4 });
  const header = (n: number) => bytes(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  assert.equal(run(() => codec.decoder({}), [header(1024 * 1024)]).error, undefined);
  assert.equal(run(() => codec.decoder({}), [header(1024 * 1024 + 1)]).error?.code, "EMSGSIZE");
  assert.equal(run(() => codec.decoder({ maxFrameLength: 64 }), [header(64)]).error, undefined);
  assert.equal(
    run(() => codec.decoder({ maxFrameLength: 64 }), [header(65)]).error?.code,
    "EMSGSIZE",
  );
  // An explicit maxLength wins over the handle's.
  const own = lengthField({ size: 4, strip: 4, maxLength: 100 });
  assert.equal(run(() => own.decoder({ maxFrameLength: 64 }), [header(100)]).error, undefined);
});

Deno.test("lengthField: a length that is negative after adjust, or shorter than strip, is EBADMSG", () => {
  // PostgreSQL's length counts itself: a value under 4 cannot be.
  const pg = lengthField({ offset: 1, size: 4, adjust: -4 });
  const bad = sameEverySplit(() => pg.decoder({}), bytes(0x51, 0, 0, 0, 3, 0x78));
  assert.deepEqual(bad.error, { code: "EBADMSG", fatal: true });
  assert.equal(run(() => pg.decoder({}), [bytes(0x51, 0, 0, 0, 3, 0x78)]).left, 6);
  const empty = run(() => pg.decoder({}), [bytes(0x49, 0, 0, 0, 4)]); // EmptyQueryResponse
  assert.deepEqual(empty.values, [bytes(0x49, 0, 0, 0, 4)]);
  // strip beyond the frame: a 2-byte header announcing 1 body byte, strip 4.
  const short = run(() => lengthField({ size: 2, strip: 4 }).decoder({}), [bytes(0, 1, 9)]);
  assert.deepEqual(short.error, { code: "EBADMSG", fatal: true });
  assert.equal(short.left, 3);
});

Deno.test("lengthField: an 8-byte length of 2^53 or more is EMSGSIZE, even with maxLength Infinity", () => {
  const unlimited = lengthField({ size: 8, maxLength: Infinity });
  const over = (endian: "big" | "little") => {
    const field = bytes(0, 0x20, 0, 0, 0, 0, 0, 0); // 2^53, big-endian
    return endian === "big" ? field : field.reverse();
  };
  for (const endian of ["big", "little"] as const) {
    const codec = lengthField({ size: 8, endian, maxLength: Infinity });
    const out = run(() => codec.decoder({}), [over(endian)]);
    assert.deepEqual(out.error, { code: "EMSGSIZE", fatal: true }, endian);
    assert.equal(out.left, 8);
    const top = run(() => codec.decoder({}), [
      bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    ]);
    assert.deepEqual(top.error, { code: "EMSGSIZE", fatal: true });
  }
  // A whole frame of 2^53 - 1 bytes is a length like any other: waited for, not an error.
  const decoder = unlimited.decoder({});
  const buf = new ReadBuffer();
  buf.append(bytes(0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf7)); // + 8 header = 2^53 - 1
  assert.equal(decoder.decode(buf), NEED_MORE);
  // One more, by the field or by adjust, and the total is not exact: EMSGSIZE.
  const plusOne = lengthField({ size: 8, adjust: 1, maxLength: Infinity }).decoder({});
  assert.throws(
    () => plusOne.decode(buf),
    (e) => e instanceof HandleError && e.code === "EMSGSIZE" && /2\^53/.test(e.message),
  );
});

Deno.test("lengthField: writes check the body against the field and the layout", () => {
  const one = lengthField({ size: 1 });
  assert.equal(one.encoder({}, new Uint8Array(255)).length, 256);
  assert.throws(
    () => one.encoder({}, new Uint8Array(256)),
    (e) => e instanceof HandleError && e.code === "EMSGSIZE" && !e.fatal,
  );
  // adjust 12: the body must hold the 12 uncounted bytes at least.
  const mc = lengthField({ offset: 8, size: 4, adjust: 12 });
  assert.throws(() => mc.encoder({}, new Uint8Array(11)), RangeError);
  assert.deepEqual(mc.encoder({}, new Uint8Array(12)).subarray(0, 12), new Uint8Array(12));
  assert.throws(() => mc.encoder({}, "short", new Uint8Array(12)), RangeError, "prefix length");
  assert.throws(() => mc.encoder({}, 42 as unknown as Uint8Array), TypeError);
  // A maxLength given in the layout bounds writes too (the delivered frame, after strip).
  const capped = lengthField({ size: 2, strip: 2, maxLength: 4 });
  assert.equal(capped.encoder({}, "abcd").length, 6);
  assert.throws(() => capped.encoder({}, "abcde"), HandleError);
  // The layout's prefix is the default; a write's own replaces it.
  const tagged = lengthField({ offset: 1, size: 4, adjust: -4, prefix: "Q" });
  assert.deepEqual(tagged.encoder({}, ""), bytes(0x51, 0, 0, 0, 4));
  assert.deepEqual(tagged.encoder({}, "X", ""), bytes(0x58, 0, 0, 0, 4));
});

Deno.test("lengthField: bad options throw TypeError or RangeError when the codec is made", () => {
  const range: unknown[] = [
    { size: 0 },
    { size: 5 },
    { size: "4" },
    { size: 4, endian: "middle" },
    { size: 4, offset: -1 },
    { size: 4, offset: 1.5 },
    { size: 4, strip: -1 },
    { size: 4, adjust: 0.5 },
    { size: 4, adjust: Infinity },
    { size: 4, maxLength: 0 },
    { size: 4, maxLength: -1 },
    { size: 4, maxLength: 1.5 },
    { size: 4, offset: 1, prefix: "ab" },
    { size: 4, prefix: new Uint8Array(1) },
  ];
  for (const options of range) {
    assert.throws(
      () => lengthField(options as LengthFieldOptions),
      RangeError,
      JSON.stringify(options),
    );
  }
  const type: unknown[] = [
    undefined,
    null,
    4,
    { size: 4, offset: "1" },
    { size: 4, adjust: "1" },
    { size: 4, prefix: 7 },
    { size: 4, lengthAdjustment: 1 }, // Netty's name: a typo is not ignored
  ];
  for (const options of type) {
    assert.throws(() => lengthField(options as LengthFieldOptions), TypeError, String(options));
  }
  // The name form checks the same options for each read.
  assert.throws(() => lengthField.decoder({}, { size: 6 as 4 }), RangeError);
  // maxLength Infinity is accepted when asked for.
  assert.equal(lengthField({ size: 8, maxLength: Infinity }).options.maxLength, Infinity);
});

Deno.test("lengthField: over a socket, pushRead, read, iterate and the name form see the same frames", async () => {
  const framed = lengthField({ size: 2, strip: 2 });
  const { h, peer, close } = await pair();
  try {
    const wire = concat(
      ...["one", "two", "", "three", "four", "five"].map((s) => framed.encoder({}, s)),
    );
    // Byte by byte for the first frames, then the rest at once.
    const writing = (async () => {
      for (let i = 0; i < 8; i++) await writeAll(peer, wire.subarray(i, i + 1));
      await writeAll(peer, wire.subarray(8));
    })();
    const got: string[] = [];
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    await new Promise<void>((resolve) =>
      h.pushRead(framed, (_h, frame) => {
        got.push(text(frame));
        resolve();
      })
    );
    got.push(text(await h.read(framed)));
    await new Promise<void>((resolve) =>
      h.pushRead("length_field", { size: 2, strip: 2 }, (_h, frame) => {
        got.push(text(frame));
        resolve();
      })
    );
    for await (const frame of h.iterate(framed)) {
      got.push(text(frame));
      if (got.length === 6) break;
    }
    await writing;
    assert.deepEqual(got, ["one", "two", "", "three", "four", "five"]);
  } finally {
    await close();
  }
});

Deno.test("lengthField: over a socket, writes by value and by name reach the peer as encoded", async () => {
  const pg = lengthField({ offset: 1, size: 4, adjust: -4 });
  const { h, peer, close } = await pair();
  try {
    h.pushWrite(pg, "Q", "SELECT 1\0");
    h.pushWrite("length_field", { size: 1 }, new Uint8Array([7, 8]));
    h.pushWrite("length_field", { size: 2, endian: "little", offset: 1 }, "#", "ab");
    await h.drain();
    const expected = concat(
      bytes(0x51, 0, 0, 0, 13),
      utf8("SELECT 1\0"),
      bytes(2, 7, 8),
      bytes(0x23, 2, 0),
      utf8("ab"),
    );
    const got = new Uint8Array(expected.length);
    for (let at = 0; at < got.length;) {
      const n = await peer.read(got.subarray(at));
      assert.notEqual(n, null);
      at += n!;
    }
    assert.deepEqual(got, expected);
  } finally {
    await close();
  }
});

Deno.test("lengthField: over a socket, a frame over maxLength is a fatal EMSGSIZE as soon as its header arrives", async () => {
  const { h, peer, close } = await pair();
  try {
    // Only the header is sent: the error cannot wait for the 70,000 bytes it announces.
    await writeAll(peer, bytes(0, 1, 0x11, 0x70));
    const err = await h.read(lengthField({ size: 4, maxLength: 65536 })).then(
      () => assert.fail("read resolved"),
      (e) => e,
    );
    assert.ok(err instanceof HandleError);
    assert.equal(err.code, "EMSGSIZE");
    assert.equal(err.fatal, true);
    assert.match(err.message, /70004 bytes exceeds maxLength of 65536 bytes/);
    assert.equal(h.destroyed, true);
  } finally {
    await close();
  }
});

Deno.test("lengthField: over a socket, large frames arrive whole, stripped or not", async () => {
  const { h, peer, close } = await pair();
  try {
    const body = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) & 255);
    const whole = lengthField({ size: 4, maxLength: 1 << 20 });
    const stripped = lengthField({ size: 4, strip: 4, maxLength: 1 << 20 });
    const writing = writeAll(peer, concat(whole.encoder({}, body), stripped.encoder({}, body)));
    const first = await h.read(whole);
    assert.equal(first.length, 200_004);
    assert.deepEqual(first.subarray(4), body);
    assert.deepEqual(await h.read(stripped), body);
    await writing;
  } finally {
    await close();
  }
});
