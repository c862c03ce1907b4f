/**
 * Wire compatibility of the `cbor` types with the real Perl AnyEvent::Handle 7.x over CBOR::XS
 * (Debian's libanyevent-perl and libcbor-xs-perl), in both directions: values this library
 * encodes are decoded by AnyEvent's `push_read cbor` and described or echoed by
 * `push_write cbor`, and values built in Perl are decoded here; each with AnyEvent's default
 * coder (`CBOR::XS->new`, which sends hash keys as byte strings) and with a `text_keys` coder;
 * and dates: a `Date` is tag 1 to CBOR::XS (a `Time::Piece`), and its times are `Date`s here.
 * `.ci/run` installs the Perl modules.
 */
import assert from "node:assert/strict";
import { Handle } from "../mod.ts";
import { cbor, CborTagged } from "../codecs/cbor.ts";

const PEER = new URL("./fixtures/anyevent_cbor.pl", import.meta.url).pathname;
const MIB = 1024 * 1024;
const CODERS = ["default", "text_keys"] as const;
/** The Perl peer's coders: the two above, and one that leaves tags 0 and 1 raw. */
type Coder = typeof CODERS[number] | "raw_time";

const bytes = (...b: number[]) => new Uint8Array(b);
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Runs the Perl peer with `coder` against a Handle; `talk` drives the session. */
async function withPerlPeer(coder: Coder, talk: (h: Handle) => Promise<void>): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const child = new Deno.Command("perl", {
    args: [PEER, String(listener.addr.port), coder],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const h = new Handle(await listener.accept(), { maxFrameLength: 4 * MIB });
  let failure: unknown;
  try {
    await talk(h);
    h.pushWrite(cbor, ["quit"]);
    assert.equal(await h.read(cbor), "bye");
  } catch (e) {
    failure = e; // reported before the peer's exit status, which it usually causes
  }
  h.destroy();
  await h.closed.catch(() => {});
  listener.close();
  const status = await child.status;
  if (failure !== undefined) throw failure;
  assert.equal(status.code, 0, "the Perl peer reported an error");
}

for (const coder of CODERS) {
  Deno.test(`perl cbor (${coder} coder): values built in Perl decode to what they mean`, async () => {
    await withPerlPeer(coder, async (h) => {
      for (const name of ["scalars", "latin1", "tagged", "big"]) {
        h.pushWrite(cbor, ["send", name]);
      }
      assert.deepEqual(await h.read(cbor), {
        x: 1,
        ints: [0, 23, 24, 255, 65536, -1, -25, 2147483648, 2n ** 64n - 1n, -(2n ** 63n)],
        floats: [1.5, 0.1, -2.25e300],
        str: latin1("abc"), // a Perl string without the UTF-8 flag is a byte string
        uni: "☺ café",
        t: true,
        f: false,
        n: null,
        nested: { a: [{ b: [] }, {}] },
      });
      // Keys that are not UTF-8: the default coder sends the Latin-1 bytes of "über", which
      // stay bytes, so the map is a Map; text_keys sends text.
      assert.deepEqual(
        await h.read(cbor),
        coder === "default"
          ? new Map<unknown, unknown>([
            [latin1("\xfcber"), 1],
            [latin1("caf\xe9"), latin1("caf\xe9")],
            ["☺", 2],
          ])
          : { über: 1, café: latin1("caf\xe9"), "☺": 2 },
      );
      assert.deepEqual(await h.read(cbor), [
        new CborTagged(1000, latin1("x")),
        2n ** 70n,
      ]);
      assert.deepEqual(await h.read(cbor), {
        bytes: new Uint8Array(MIB).fill(0xff),
        text: "é".repeat(MIB / 2),
      });
    });
  });

  Deno.test(`perl cbor (${coder} coder): AnyEvent decodes what this library encodes`, async () => {
    await withPerlPeer(coder, async (h) => {
      h.pushWrite(cbor, [
        "describe",
        {
          text: "é",
          bytes: bytes(0xe9),
          int: 5,
          neg: -5,
          float: 1.5,
          big: 2n ** 64n - 1n,
          bigger: 2n ** 70n,
          t: true,
          f: false,
          n: null,
          u: undefined,
          arr: [1, []],
          tag: new CborTagged(1000, 1),
        },
      ]);
      const key = (k: string) => ["text", k];
      assert.deepEqual(await h.read(cbor), [
        "map",
        [
          [key("arr"), ["array", [["int", "1"], ["array", []]]]],
          [key("big"), ["int", "18446744073709551615"]],
          [key("bigger"), ["bigint", "1180591620717411303424"]],
          [key("bytes"), ["bytes", "e9"]],
          [key("f"), "false"],
          [key("float"), ["float", 1.5]],
          [key("int"), ["int", "5"]],
          [key("n"), "undef"],
          [key("neg"), ["int", "-5"]],
          [key("t"), "true"],
          [key("tag"), ["tag", 1000, ["int", "1"]]],
          [key("text"), ["text", "é"]],
          [key("u"), "undefined"],
        ],
      ]);
    });
  });

  Deno.test(`perl cbor (${coder} coder): values round-trip through AnyEvent's echo`, async () => {
    const big = new Uint8Array(MIB).map((_, i) => i * 13);
    const cases: [sent: unknown, back: unknown][] = [
      [{ a: [1, "x", 1.5, null, true, false, undefined], b: bytes(0, 255) }, undefined],
      // Perl hash keys are strings: integer keys come back as text.
      [new Map([[1, "one"], [2, "two"]]), { 1: "one", 2: "two" }],
      // The default coder sends "über" back as its Latin-1 bytes (the key lost its UTF-8
      // flag in Perl's hash); "☺" cannot be Latin-1 and stays text.
      [
        { über: 1, "☺": 2 },
        coder === "default"
          ? new Map<unknown, unknown>([[latin1("\xfcber"), 1], ["☺", 2]])
          : undefined,
      ],
      [[2n ** 64n - 1n, -(2n ** 63n), 2n ** 70n, -0.5, NaN, Infinity, -Infinity], undefined],
      [new CborTagged(1000, ["x", new CborTagged(1001, {})]), undefined],
      ["a string", undefined],
      [42, undefined],
      [[], undefined],
      [{ big, text: "é😀".repeat(100_000) }, undefined],
    ];
    await withPerlPeer(coder, async (h) => {
      for (const [sent] of cases) h.pushWrite(cbor, ["echo", sent]);
      for (const [sent, back] of cases) {
        assert.deepEqual(await h.read(cbor), back === undefined ? sent : back);
      }
    });
  });
}

/** Dates and what they are on the wire: tag 1 around an integer or a float of seconds. */
const DATES: [Date, described: unknown][] = [
  [new Date("2013-03-21T20:04:00Z"), ["int", "1363896240"]],
  [new Date("2013-03-21T20:04:00.500Z"), ["float", 1363896240.5]],
  [new Date("2013-03-21T20:04:00.123Z"), ["float", 1363896240.123]],
  [new Date(-1000), ["int", "-1"]],
  [new Date(0), ["int", "0"]],
];

/** What the Perl peer's `times` value decodes to (see tests/fixtures/anyevent_cbor.pl). */
const PERL_TIMES = [
  new Date("2013-03-21T20:04:00Z"), // Time::Piece::gmtime(1363896240), written by TO_CBOR
  new Date("2013-03-21T20:04:00.500Z"), // gmtime(1363896240.5)
  new Date(-1000), // gmtime(-1)
  new Date("2013-03-21T20:04:00Z"), // tag(1, 1363896240)
  new Date(-250), // tag(1, -0.25)
  new Date("2013-03-21T20:04:00Z"), // tag(0, "2013-03-21T20:04:00Z")
  new Date("2013-03-21T20:04:00.500Z"), // tag(0, "2013-03-21T21:04:00.5+01:00")
];

for (const coder of CODERS) {
  Deno.test(`perl cbor (${coder} coder): a Date is a Time::Piece with its epoch in Perl, and Perl's times are Dates`, async () => {
    await withPerlPeer(coder, async (h) => {
      const dates = DATES.map(([date]) => date);
      h.pushWrite(cbor, ["describe", dates]);
      h.pushWrite(cbor, ["echo", dates]);
      h.pushWrite(cbor, ["send", "times"]);
      // CBOR::XS decodes tag 1 to a Time::Piece (its epoch, integer or float, as we sent it).
      assert.deepEqual(await h.read(cbor), [
        "array",
        DATES.map(([, described]) => ["time", described]),
      ]);
      // ... and writes it back as tag 1: the same Dates.
      assert.deepEqual(await h.read(cbor), dates);
      assert.deepEqual(await h.read(cbor), PERL_TIMES);
    });
  });
}

Deno.test("perl cbor (raw_time coder): Perl sees our Date as tag 1 around the epoch, integer or float", async () => {
  await withPerlPeer("raw_time", async (h) => {
    h.pushWrite(cbor, ["describe", DATES.map(([date]) => date)]);
    h.pushWrite(cbor, ["send", "times"]);
    assert.deepEqual(await h.read(cbor), [
      "array",
      DATES.map(([, described]) => ["tag", 1, described]),
    ]);
    assert.deepEqual(await h.read(cbor), PERL_TIMES);
  });
});
