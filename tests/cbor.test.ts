/**
 * The `cbor` read and write types (codecs/cbor.ts): the framing scan fed whole, at every split
 * point and one byte at a time; values of every major type; limits; malformed items; the
 * linearity of the scan; and a Handle round trip over a loopback socket.
 */
import assert from "node:assert/strict";
import { Handle, HandleError, NEED_MORE, ReadBuffer } from "../mod.ts";
import {
  cbor,
  cborDecoder,
  type CborOptions,
  CborTagged,
  DEFAULT_MAX_CBOR_DEPTH,
  encodeCbor,
} from "../codecs/cbor.ts";
import { concat, type Outcome, run, splits } from "./_split.ts";
import { pair, writeAll } from "./_net.ts";

/** Bytes from hex, spaces allowed. */
function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  return new Uint8Array(digits.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
}

/**
 * Decodes `wire` whole, at every split point and one byte at a time, and asserts that every
 * run gives the same values and error (deepStrictEqual: Maps, bigints, -0 and NaN included;
 * after an error the bytes left depend on how many had arrived).
 */
function everySplit(wire: Uint8Array, options?: CborOptions): Outcome {
  const make = () => cborDecoder(options);
  const whole = run(make, [wire]);
  for (const pieces of splits(wire)) {
    const got = run(make, pieces);
    const what = `split ${pieces.map((p) => p.length).join("+")}`;
    assert.deepEqual(got.values, whole.values, what);
    assert.deepEqual(got.error, whole.error, what);
    if (whole.error === undefined) assert.equal(got.left, whole.left, what);
  }
  return whole;
}

/** Decodes `wire` at every split; asserts it holds exactly `values`, back to back. */
function decodesTo(wire: Uint8Array, values: unknown[], options?: CborOptions): void {
  const out = everySplit(wire, options);
  assert.equal(out.error, undefined, `unexpected ${JSON.stringify(out.error)}`);
  assert.deepEqual(out.values, values);
  assert.equal(out.left, 0);
}

Deno.test("cbor: integers of every width, positive and negative, split anywhere", () => {
  decodesTo(
    hex(`00 17 1818 18ff 190100 19ffff 1a00010000 1affffffff 1b0000000100000000
      1b001fffffffffffff 1b0020000000000000 1bffffffffffffffff 1b0000000000000001
      20 37 3818 38ff 390100 39ffff 3a00010000 3affffffff 3b001ffffffffffffe
      3b0020000000000000 3bffffffffffffffff`),
    [
      0,
      23,
      24,
      255,
      256,
      65535,
      65536,
      2 ** 32 - 1,
      2 ** 32,
      Number.MAX_SAFE_INTEGER,
      2n ** 53n,
      2n ** 64n - 1n,
      1, // not in its shortest form: accepted unless strict
      -1,
      -24,
      -25,
      -256,
      -257,
      -65536,
      -65537,
      -(2 ** 32),
      Number.MIN_SAFE_INTEGER,
      -(2n ** 53n) - 1n,
      -(2n ** 64n),
    ],
  );
});

Deno.test("cbor: byte and text strings, definite and indefinite, split anywhere", () => {
  const long = new Uint8Array(300).map((_, i) => i);
  decodesTo(
    concat(
      hex("40 43 000102 5818"),
      new Uint8Array(24).fill(7),
      hex("59012c"),
      long,
      hex("60 6161 69 c3a9 f09f9880 e282ac"),
      hex("5f 4101 40 420203 ff"), // (_ h'01', h'', h'0203')
      hex("5f ff"), // (_ ) is an empty byte string
      hex("7f 62c3a9 60 64f09f9880 ff"), // (_ "é", "", "😀")
      hex("7f ff"),
      hex("5f 5900020a0b ff"), // a chunk with a two-byte length
    ),
    [
      new Uint8Array(),
      new Uint8Array([0, 1, 2]),
      new Uint8Array(24).fill(7),
      long,
      "",
      "a",
      "é😀€",
      new Uint8Array([1, 2, 3]),
      new Uint8Array(),
      "é😀",
      "",
      new Uint8Array([10, 11]),
    ],
  );
});

Deno.test("cbor: arrays and maps, definite and indefinite, nested, split anywhere", () => {
  decodesTo(
    concat(
      hex("80 a0 9fff bfff"),
      hex("83 01 82 02 03 a1 6161 9f 04 05 ff"), // [1, [2, 3], {"a": [_ 4, 5]}]
      hex("bf 6161 01 6162 9f 80 bf ff ff ff"), // {_ "a": 1, "b": [_ [], {_ }]}
      hex("9f 7f 6161 ff 5f ff bf 7f 6178 ff 9f ff ff ff"), // [_ (_ "a"), (_ ), {_ (_ "x"): [_ ]}]
      hex("81 81 81 81 81 00"),
      hex("a2 6178 a1 6179 a0 617a 80"), // {"x": {"y": {}}, "z": []}
    ),
    [
      [],
      {},
      [],
      {},
      [1, [2, 3], { a: [4, 5] }],
      { a: 1, b: [[], {}] },
      ["a", new Uint8Array(), { x: [] }],
      [[[[[0]]]]],
      { x: { y: {} }, z: [] },
    ],
  );
});

Deno.test("cbor: floats of 16, 32 and 64 bits and the simple values, split anywhere", () => {
  decodesTo(
    hex(`f93c00 f93e00 f98000 f97c00 f9fc00 f97e00 f90001 f97bff fa47c35000 fa7f7fffff
      fb3ff199999999999a fbc010666666666666 f4 f5 f6 f7`),
    [
      1,
      1.5,
      -0,
      Infinity,
      -Infinity,
      NaN,
      5.960464477539063e-8,
      65504,
      100000,
      3.4028234663852886e38,
      1.1,
      -4.1,
      false,
      true,
      null,
      undefined,
    ],
  );
});

Deno.test("cbor: tags: bignums, tag 259, dates, unknown tags kept as CborTagged, tag decoders", () => {
  decodesTo(
    hex(`c249 010000000000000000 c349 010000000000000000 d90103 a2 01 02 6161 03
      d903e8 82 01 c1 00 d9d9f7 a0 c0 74 323031332d30332d32315432303a30343a30305a`),
    [
      2n ** 64n,
      -(2n ** 64n) - 1n,
      new Map<unknown, unknown>([[1, 2], ["a", 3]]),
      new CborTagged(1000, [1, new Date(0)]),
      new CborTagged(55799, {}),
      new Date("2013-03-21T20:04:00Z"),
    ],
  );
  // A decoder of the application's own replaces a default one.
  const tags = { 1: (content: () => unknown) => new CborTagged(1, content()) };
  decodesTo(
    hex("c1 1a514b67b0 81 c1 00"),
    [new CborTagged(1, 1363896240), [new CborTagged(1, 0)]],
    {
      tags,
    },
  );
});

Deno.test("cbor: a Date is tag 1, integer seconds when whole, a float otherwise", () => {
  assert.deepEqual(encodeCbor(new Date("2013-03-21T20:04:00Z")), hex("c1 1a514b67b0"));
  assert.deepEqual(encodeCbor(new Date(0)), hex("c1 00"));
  assert.deepEqual(encodeCbor(new Date(-1000)), hex("c1 20")); // -1
  assert.deepEqual(encodeCbor(new Date(1500)), hex("c1 f93e00")); // 1.5, a half float
  assert.deepEqual(encodeCbor(new Date(-500)), hex("c1 f9b800")); // -0.5
  // 1363896240.5 needs a double; so does every millisecond no binary fraction holds.
  assert.deepEqual(encodeCbor(new Date(1363896240500)), hex("c1 fb 41d452d9ec200000"));
  const ms = new Date("2013-03-21T20:04:00.123Z");
  const wire = encodeCbor(ms);
  assert.deepEqual(wire.subarray(0, 2), hex("c1 fb"));
  assert.equal(new DataView(wire.buffer, 2).getFloat64(0), 1363896240.123);
  // The latest and earliest times a Date holds: whole seconds, integers.
  assert.deepEqual(encodeCbor(new Date(8.64e15)), hex("c1 1b 000007dba8218000"));
  assert.deepEqual(encodeCbor(new Date(-8.64e15)), hex("c1 3b 000007dba8217fff"));
  assert.deepEqual(encodeCbor({ at: new Date(0) }), hex("a1 6261 74 c1 00"));
  assert.throws(() => encodeCbor(new Date(NaN)), /Cannot encode an invalid Date/);
});

Deno.test("cbor: tags 1 and 0 decode to the Date they name, to the millisecond", () => {
  const dates = [
    new Date(0),
    new Date(-1000),
    new Date(1500),
    new Date(-500),
    new Date("2013-03-21T20:04:00.123Z"),
    new Date("1969-07-20T20:17:40.001Z"),
    new Date(8.64e15),
    new Date(-8.64e15),
  ];
  decodesTo(concat(...dates.map(encodeCbor)), dates);
  decodesTo(
    concat(
      hex("c1 fa 4ea296cf"), // a single float: 1363896192, the nearest a float32 holds
      hex("c1 fb 41d452d9ec07df3b"), // 1363896240.1229999...: rounded, not cut, to .123
      hex("c1 c2 41 05"), // a bignum of 5
      ...[
        "2013-03-21T20:04:00Z",
        "2013-03-21t20:04:00z", // RFC 3339 allows the letters in lower case
        "2013-03-21T21:04:00.25+01:00",
        "2013-03-21T15:34:00.5-04:30",
        "2013-03-21T20:04:00.0001Z", // below a millisecond: rounded
        "0001-01-01T00:00:00Z", // not 1901
        "2016-12-31T23:59:60Z", // a leap second: the next instant
        "2024-02-29T12:00:00Z",
      ].map((text) => encodeCbor(new CborTagged(0, text))),
    ),
    [
      new Date(1363896192000),
      new Date("2013-03-21T20:04:00.123Z"),
      new Date(5000),
      new Date("2013-03-21T20:04:00Z"),
      new Date("2013-03-21T20:04:00Z"),
      new Date("2013-03-21T20:04:00.250Z"),
      new Date("2013-03-21T20:04:00.500Z"),
      new Date("2013-03-21T20:04:00Z"),
      new Date("0001-01-01T00:00:00Z"),
      new Date("2017-01-01T00:00:00Z"),
      new Date("2024-02-29T12:00:00Z"),
    ],
  );
});

Deno.test("cbor: a tag 1 or 0 that names no time is a non-fatal EBADMSG, skipped", () => {
  const cases: [string, RegExp][] = [
    ["c1 6161", /Tag 1 \(epoch time\) holds a value of type string: expected a number/],
    ["c1 f6", /Tag 1 \(epoch time\) holds null/],
    ["c1 fb 7ff8000000000000", /Tag 1 \(epoch time\) NaN is outside the range of a Date/],
    ["c1 1b 000007dba8218001", /outside the range of a Date/], // 8.64e12 + 1 s
    ["c0 01", /Tag 0 \(date\/time text\) holds a value of type number: expected a string/],
    ...[
      "2013-03-21 20:04:00Z", // a space: RFC 3339 allows it only by agreement
      "2013-03-21T20:04:00", // no offset
      "2013-02-29T20:04:00Z", // no such day
      "2013-13-01T20:04:00Z",
      "2013-03-21T24:00:00Z",
      "2013-03-21T20:04:00+24:00",
      "yesterday",
    ].map((text): [string, RegExp] => [
      Array.from(encodeCbor(new CborTagged(0, text)), (b) => b.toString(16).padStart(2, "0"))
        .join(""),
      new RegExp(`Tag 0 holds "${text.replaceAll("+", "\\+")}": not an RFC 3339 date-time`),
    ]),
  ];
  for (const [bad, message] of cases) {
    const buf = new ReadBuffer();
    buf.append(concat(hex(bad), hex("01")));
    const decoder = cborDecoder();
    assert.throws(
      () => decoder.decode(buf),
      (e) =>
        e instanceof HandleError && e.code === "EBADMSG" && !e.fatal && message.test(e.message),
      bad,
    );
    assert.equal(decoder.decode(buf), 1, `${bad}: the next item is read`);
  }
});

Deno.test("cbor: maps with non-string keys decode to Maps, losslessly", () => {
  decodesTo(
    hex(`a1 01 6161 a1 82 01 02 03 a1 6161 a1 01 02 a2 6161 01 f5 02 a1 a1 01 02 03
      bf 01 02 ff a1 f93e00 00`),
    [
      new Map([[1, "a"]]),
      new Map([[[1, 2], 3]]),
      { a: new Map([[1, 2]]) }, // only the map with the integer key is a Map
      new Map<unknown, unknown>([["a", 1], [true, 2]]),
      new Map([[new Map([[1, 2]]), 3]]),
      new Map([[1, 2]]),
      new Map([[1.5, 0]]),
    ],
  );
  decodesTo(hex("a2 6161 01 6162 02 a0"), [new Map([["a", 1], ["b", 2]]), new Map()], {
    useMaps: true,
  });
});

Deno.test("cbor: byte-string keys that are valid UTF-8 become string keys by default", () => {
  // CBOR::XS's default coder sends {x => 1, "\xfc" => 2, "☺" => 3} like this:
  const perl = hex("a3 41fc 02 4178 01 63e298ba 03");
  decodesTo(
    concat(
      hex("a2 4178 01 4179 4101"), // {h'78': 1, h'79': h'01'}: values stay bytes
      hex("a1 5f 4178 4179 ff 01"), // {(_ h'78', h'79'): 1}
      hex("a1 42c3 a9 f6"), // {h'c3a9': null}, "é"
      perl,
      hex("bf 41ff 01 ff"), // {_ h'ff': 1}
    ),
    [
      { x: 1, y: new Uint8Array([1]) },
      { xy: 1 },
      { é: null },
      new Map<unknown, unknown>([[new Uint8Array([0xfc]), 2], ["x", 1], ["☺", 3]]),
      new Map([[new Uint8Array([0xff]), 1]]),
    ],
  );
  decodesTo(concat(hex("a1 4178 01"), perl), [
    new Map([[new Uint8Array([0x78]), 1]]),
    new Map<unknown, unknown>([
      [new Uint8Array([0xfc]), 2],
      [new Uint8Array([0x78]), 1],
      ["☺", 3],
    ]),
  ], { byteKeys: "bytes" });
  decodesTo(perl, [new Map<unknown, unknown>([[new Uint8Array([0xfc]), 2], ["x", 1], ["☺", 3]])], {
    useMaps: true,
  });
  // A map already inside tag 259 is not wrapped again.
  decodesTo(hex("d90103 a1 41fc 01"), [new Map([[new Uint8Array([0xfc]), 1]])]);
});

Deno.test("cbor: an item of exactly maxLength bytes decodes, one byte more is EMSGSIZE", () => {
  const ok = concat(hex("9f"), new Uint8Array(14).fill(1), hex("ff")); // 16 bytes
  decodesTo(ok, [new Array(14).fill(1)], { maxLength: 16 });
  const over = concat(hex("9f"), new Uint8Array(15).fill(1), hex("ff"));
  const out = everySplit(over, { maxLength: 16 });
  assert.deepEqual(out.error, { code: "EMSGSIZE", fatal: true });
  assert.equal(out.left, 17); // nothing consumed
  // It fails as soon as the 16 bytes are there, before the item's end arrives.
  assert.deepEqual(run(() => cborDecoder({ maxLength: 16 }), [over.subarray(0, 16)]).error, {
    code: "EMSGSIZE",
    fatal: true,
  });
  decodesTo(concat(hex("4e"), new Uint8Array(14)), [new Uint8Array(14)], { maxLength: 15 });
  assert.equal(run(() => cborDecoder({ maxLength: 15 }), [hex("4f")]).error?.code, "EMSGSIZE");
});

Deno.test("cbor: a declared length over maxLength fails with EMSGSIZE from its header alone", () => {
  for (
    const header of [
      "5a 00100000", // a byte string of 1 MiB
      "7b 0000000000100000", // a text string of 1 MiB, 8-byte length
      "9a 00010000", // an array of 65536 items
      "b9 0800", // a map of 2048 pairs: at least 4096 bytes
      "81 5bffffffffffffffff", // a string longer than any safe integer
      "5f 5a00100000", // a chunk of 1 MiB
    ]
  ) {
    const out = everySplit(hex(header), { maxLength: 1024 });
    assert.deepEqual(out.error, { code: "EMSGSIZE", fatal: true }, header);
    assert.equal(out.left, hex(header).length, header);
  }
  const infinite = run(() => cborDecoder({ maxLength: Infinity }), [hex("5bffffffffffffffff")]);
  assert.equal(infinite.error?.code, "EMSGSIZE");
});

Deno.test("cbor: nesting deeper than maxDepth is a fatal EMSGSIZE", () => {
  decodesTo(hex("81 a1 6161 c1 00"), [[{ a: new Date(0) }]], { maxDepth: 3 });
  for (
    const wire of ["81 a1 6161 c1 81 00", "81 81 81 80", "c1 c1 c1 c1 00", "9f 9f 9f a0 ff ff ff"]
  ) {
    const out = everySplit(hex(wire), { maxDepth: 3 });
    assert.deepEqual(out.error, { code: "EMSGSIZE", fatal: true }, wire);
  }
  decodesTo(hex("01 40 60"), [1, new Uint8Array(), ""], { maxDepth: 0 });
  assert.equal(run(() => cborDecoder({ maxDepth: 0 }), [hex("80")]).error?.code, "EMSGSIZE");
  // The default allows CBOR::XS's 512 levels, and cborg decodes them.
  const nested = (n: number) => concat(new Uint8Array(n).fill(0x81), hex("00"));
  let value: unknown = run(() => cborDecoder(), [nested(DEFAULT_MAX_CBOR_DEPTH)]).values[0];
  for (let i = 0; i < DEFAULT_MAX_CBOR_DEPTH; i++) value = (value as unknown[])[0];
  assert.equal(value, 0);
  assert.equal(
    run(() => cborDecoder(), [nested(DEFAULT_MAX_CBOR_DEPTH + 1)]).error?.code,
    "EMSGSIZE",
  );
});

Deno.test("cbor: an item cborg rejects is a non-fatal EBADMSG, skipped, and the next item is read", () => {
  const cases: [string, CborOptions | undefined][] = [
    ["e0", undefined], // simple value 0: cborg supports only false, true, null, undefined
    ["82 01 f0", undefined], // [1, simple(16)]
    ["f8 20", undefined], // simple(32), two bytes
    ["a1 6161 f8 ff", undefined],
    ["18 01", { decodeOptions: { strict: true } }], // 1 not in its shortest form
    ["a2 6161 01 6161 02", { decodeOptions: { rejectDuplicateMapKeys: true } }],
    ["f7", { decodeOptions: { allowUndefined: false } }],
    ["9f ff", { decodeOptions: { allowIndefinite: false } }],
    ["d90103 01", undefined], // tag 259 around something that is not a map
    ["c1 00", {
      tags: {
        1: () => {
          throw new Error("no dates");
        },
      },
    }],
  ];
  for (const [bad, options] of cases) {
    const wire = concat(hex(bad), hex("82 6161 02"));
    const buf = new ReadBuffer();
    const decoder = cborDecoder(options);
    // Fed whole, and one byte at a time.
    for (const pieces of [[wire], Array.from(wire, (_, i) => wire.subarray(i, i + 1))]) {
      const values: unknown[] = [];
      let error: HandleError | undefined;
      for (const piece of pieces) {
        buf.append(piece);
        for (;;) {
          let v;
          try {
            v = decoder.decode(buf);
          } catch (e) {
            assert.ok(e instanceof HandleError);
            error = e;
            continue;
          }
          if (v === NEED_MORE) break;
          values.push(v);
        }
      }
      assert.equal(error?.code, "EBADMSG", bad);
      assert.equal(error?.fatal, false, bad);
      assert.match(error!.message, /skipped/);
      assert.deepEqual(values, [["a", 2]], bad);
      assert.equal(buf.length, 0, bad);
    }
  }
});

Deno.test("cbor: a header that is not well-formed is a fatal EBADMSG, nothing consumed", () => {
  for (
    const bad of [
      "1c", // additional information 28..30 is reserved
      "5d 00",
      "fe",
      "3f", // indefinite length on a negative integer
      "1f",
      "df 00", // on a tag
      "ff", // a break outside an indefinite-length item
      "82 01 ff", // inside a definite array
      "a1 ff",
      "c1 ff",
      "bf 01 ff", // after a map key
      "5f 01 ff", // a chunk that is not a byte string
      "5f 6161 ff", // a text chunk in a byte string
      "7f 7f ff ff", // an indefinite chunk
    ]
  ) {
    const wire = concat(hex(bad), hex("01"));
    const out = everySplit(wire);
    assert.deepEqual(out.error, { code: "EBADMSG", fatal: true }, bad);
    assert.deepEqual(out.values, [], bad);
    assert.equal(out.left, wire.length, bad);
  }
});

Deno.test("cbor: an item cut short is NEED_MORE with nothing consumed", () => {
  for (const part of ["19 01", "82 01", "9f 01", "5a 00000010 00", "bf 6161", "c1", "5f 41"]) {
    const out = run(() => cborDecoder(), [hex(part)], true);
    assert.deepEqual(out, { values: [], left: hex(part).length }, part);
  }
});

Deno.test("cbor: the scan follows the buffer when another reader consumes bytes in front", () => {
  const buf = new ReadBuffer();
  const decoder = cborDecoder();
  buf.append(hex("82 01"));
  assert.equal(decoder.decode(buf), NEED_MORE);
  buf.consume(2); // another reader took the bytes: the scan state no longer applies
  buf.append(hex("01"));
  assert.equal(decoder.decode(buf), 1);
  buf.append(hex("82 01"));
  assert.equal(decoder.decode(buf), NEED_MORE);
  buf.takeAll(); // a new generation (TLS started)
  buf.append(hex("02"));
  assert.equal(decoder.decode(buf), 2);
});

Deno.test("cbor: a 10 MB byte string in 1 KiB pieces costs one header read", () => {
  const size = 10 * 1024 * 1024;
  const payload = new Uint8Array(size).map((_, i) => i * 7);
  const wire = concat(hex("5a 00a00000"), payload);
  const decoder = cborDecoder({ maxLength: 11 * 1024 * 1024 });
  const buf = new ReadBuffer();
  let value: unknown = NEED_MORE;
  let attempts = 0;
  for (let i = 0; i < wire.length; i += 1024) {
    buf.append(wire.subarray(i, i + 1024));
    attempts++;
    value = decoder.decode(buf);
  }
  assert.ok(attempts > 10000);
  assert.deepEqual(value, payload);
  assert.equal(decoder.bytesExamined, 5);
});

Deno.test("cbor: a large array in 1 KiB pieces has each header byte read once", () => {
  const n = 100_000;
  const items = Array.from({ length: n }, (_, i) => i % 3 ? "abcd" : [i, { k: i }]);
  const wire = encodeCbor(items);
  const decoder = cborDecoder({ maxLength: 4 * 1024 * 1024 });
  const buf = new ReadBuffer();
  let value: unknown = NEED_MORE;
  let pieces = 0;
  for (let i = 0; i < wire.length; i += 1024) {
    buf.append(wire.subarray(i, i + 1024));
    pieces++;
    value = decoder.decode(buf);
  }
  assert.deepEqual(value, items);
  // Every byte but the string payloads is a header byte, read once; a header cut by a piece
  // boundary has its first byte read again at the next attempt. A scan restarting at the
  // item's start on every read would read about pieces / 2 times the item.
  const payload = items.reduce<number>((sum, v) => sum + (v === "abcd" ? 4 : 1), 0);
  const headers = wire.length - payload;
  assert.ok(
    decoder.bytesExamined >= headers && decoder.bytesExamined <= headers + pieces,
    `${decoder.bytesExamined} bytes read for ${headers} header bytes in ${pieces} pieces`,
  );
});

Deno.test("cbor: the encoder writes cborg's shortest forms and refuses values without CBOR form", () => {
  assert.deepEqual(encodeCbor(0), hex("00"));
  assert.deepEqual(encodeCbor(-1), hex("20"));
  assert.deepEqual(encodeCbor(1.5), hex("f93e00"));
  assert.deepEqual(encodeCbor(2n ** 64n), hex("c2 49 010000000000000000"));
  assert.deepEqual(encodeCbor(new Uint8Array([1, 2])), hex("42 0102"));
  assert.deepEqual(encodeCbor("é"), hex("62 c3a9"));
  assert.deepEqual(encodeCbor([undefined, null]), hex("82 f7 f6"));
  assert.deepEqual(encodeCbor(new Map([[1, "a"]])), hex("a1 01 6161"));
  assert.deepEqual(encodeCbor({ b: 1, a: 2 }), hex("a2 6161 02 6162 01")); // keys sorted
  assert.deepEqual(encodeCbor(new CborTagged(32, "u")), hex("d820 6175"));
  assert.throws(() => encodeCbor(() => 1), TypeError);
  assert.throws(() => encodeCbor(Symbol("s")), TypeError);
  const cycle: unknown[] = [];
  cycle.push(cycle);
  assert.throws(() => encodeCbor(cycle), TypeError);
  assert.throws(() => new CborTagged(-1, 0), RangeError);
});

Deno.test("cbor: encoded values decode back to themselves", () => {
  const values: unknown[] = [
    { a: [1, -1, 1.5, "é😀", new Uint8Array([0, 255])], b: { c: null, d: true, e: false } },
    new Map<unknown, unknown>([[1, "one"], [[2], "two"]]),
    [undefined, 2n ** 70n, -(2n ** 70n), 2n ** 64n - 1n, NaN, -Infinity],
    new CborTagged(1234, { inner: new CborTagged(5, []) }),
    "",
    [],
    {},
  ];
  decodesTo(concat(...values.map(encodeCbor)), values);
});

Deno.test("cbor: options are checked when the read is made", () => {
  assert.throws(() => cborDecoder({ maxLength: 0 }), RangeError);
  assert.throws(() => cborDecoder({ maxDepth: -1 }), RangeError);
  assert.throws(() => cborDecoder({ maxDepth: 1.5 }), RangeError);
  assert.throws(() => cborDecoder({ tags: { 259: () => 0 } }), RangeError);
  assert.throws(() => cborDecoder({ tags: { 1: 5 as never } }), TypeError);
  assert.throws(() => cborDecoder({ byteKeys: "utf8" as never }), TypeError);
});

Deno.test("cbor: a Handle round trip over loopback with pushWrite, read, pushRead and iterate", async () => {
  const big = new Uint8Array(2 * 1024 * 1024).map((_, i) => i);
  const values: unknown[] = [
    ["method", "arg1", { n: 1 }],
    new Map<unknown, unknown>([[1, [2n ** 64n]], ["k", new CborTagged(99, undefined)]]),
    big,
    -0.5,
    "last",
  ];
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const options = { maxFrameLength: 4 * 1024 * 1024 };
  const client = new Handle(
    await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    options,
  );
  const server = new Handle(await accepted, options);
  listener.close();
  const echo = (async () => {
    for await (const value of server.iterate(cbor)) server.pushWrite(cbor, value);
  })();
  for (const v of values) client.pushWrite(cbor, v);
  assert.deepEqual(await client.read(cbor), values[0]);
  const viaCallback = await new Promise<unknown>((resolve) =>
    client.pushRead(cbor, (_h, value) => resolve(value))
  );
  assert.deepEqual(viaCallback, values[1]);
  assert.deepEqual(await client.read(cbor, { maxLength: 3 * 1024 * 1024 }), big);
  assert.deepEqual(await client.read(cbor), -0.5);
  assert.equal(await client.read(cbor), "last");
  client.pushShutdown(); // the server's iteration ends at end of input
  await echo;
  server.destroy();
  client.destroy();
  await Promise.all([server.closed, client.closed]);
});

Deno.test("cbor: through a Handle, a rejected item is a non-fatal EBADMSG and reading goes on", async () => {
  const { h, peer, close } = await pair();
  await writeAll(peer, concat(hex("82 01 e0"), encodeCbor({ ok: true })));
  await assert.rejects(
    h.read(cbor),
    (e) => e instanceof HandleError && e.code === "EBADMSG" && !e.fatal,
  );
  assert.deepEqual(await h.read(cbor), { ok: true });
  // With a callback: onError hears of the skipped item, the callback gets the next one.
  const errors: string[] = [];
  h.onError = (_h, err) => void errors.push(`${err.code} ${err.fatal}`);
  await writeAll(peer, concat(hex("f8 00"), encodeCbor([2])));
  const next = await new Promise((resolve) => h.pushRead(cbor, (_h, v) => resolve(v)));
  assert.deepEqual(next, [2]);
  assert.deepEqual(errors, ["EBADMSG false"]);
  await close();
});

Deno.test("cbor: through a Handle, maxFrameLength limits items and a cut item at end of input is EPIPE", async () => {
  {
    const { h, peer, close } = await pair({ maxFrameLength: 64 });
    await writeAll(peer, hex("5a 00010000")); // declares 64 KiB
    await assert.rejects(
      h.read(cbor),
      (e) => e instanceof HandleError && e.code === "EMSGSIZE" && e.fatal,
    );
    await close();
  }
  {
    const { h, peer, close } = await pair();
    await writeAll(peer, hex("82 01"));
    peer.close();
    await assert.rejects(h.read(cbor), (e) => e instanceof HandleError && e.code === "EPIPE");
    await close();
  }
});

/** Never called: only type-checked (deno check runs on tests/). */
export function typedUsage(h: Handle): void {
  h.pushRead(cbor, (_h, value: unknown) => void value);
  h.pushRead(cbor, { maxLength: 10, byteKeys: "bytes" }, (_h, value) => void value);
  h.pushWrite(cbor, { any: ["value", 1n, new Uint8Array()] });
  void h.read(cbor);
  // @ts-expect-error the cbor read type takes options, not a number
  h.pushRead(cbor, 5, () => {});
  // @ts-expect-error byteKeys is "text" or "bytes"
  h.pushRead(cbor, { byteKeys: "utf8" }, () => {});
  // @ts-expect-error the cbor write type takes one value
  h.pushWrite(cbor, 1, 2);
}
