/**
 * Reliability against hostile input: seeded random and mutated bytes into every read type
 * (line, chunk, regex, netstring, packstring C n N w, json, proxy, cbor), decoded directly on a
 * ReadBuffer (thousands of cases) and through real sockets (hundreds), and the classic
 * attacks (huge announced lengths, a BER prefix that never ends, a 2 MiB line, a 400,000-deep
 * JSON array). What must hold: only HandleErrors with the documented codes, no read waiting
 * on more bytes than its limit allows, and no hang.
 *
 * Three of these tests first showed library defects (a BER prefix of 0x80 bytes, endless JSON
 * whitespace, and a rejected discarding read handing a line's tail on); they now guard the
 * fixes.
 */
import assert from "node:assert/strict";
import {
  chunkDecoder,
  type Decoder,
  encodeJson,
  encodeNetstring,
  encodePackstring,
  encodeProxyV1,
  encodeProxyV2,
  Handle,
  HandleError,
  type HandleErrorCode,
  type HandleOptions,
  jsonDecoder,
  lineDecoder,
  NEED_MORE,
  netstringDecoder,
  packstringDecoder,
  proxyDecoder,
  ReadBuffer,
  regexDecoder,
} from "../mod.ts";
import { cbor, cborDecoder, encodeCbor } from "../codecs/cbor.ts";
import {
  assertFdsBack,
  describe,
  DOCUMENTED_CODES,
  later,
  openFds,
  Rng,
  settled,
  sleep,
  within,
} from "./_reliability.ts";

const MAX = 256; // maxLength of every framing under fuzz: limits are reached quickly
const MAX_READ = 131072; // a handle's default maxReadSize: the most one read adds
const utf8 = new TextEncoder();

/** A read type under fuzz: how to make its decoder, a valid frame, and what it may do. */
interface Spec {
  name: string;
  make(rng: Rng): Decoder<unknown>;
  /** One well-formed frame (the fuzz mutates and concatenates them). */
  frame(rng: Rng): Uint8Array;
  /** The error codes it may throw. */
  codes: HandleErrorCode[];
  /** The most bytes it may leave buffered while returning NEED_MORE. */
  bound(buf: ReadBuffer): number;
  /** Checks a delivered value. */
  check(value: unknown): void;
  /** Checks a value from `iterate` (the first of the callback's values), if not as `check`. */
  checkFirst?(value: unknown): void;
  /** Whether the outcome may depend on how the input was split (documented for RegExps). */
  splitDependent?: boolean;
  /** A socket read of the same type, as an iteration over its values. */
  iterate(h: Handle): AsyncIterable<unknown>;
}

function text(rng: Rng, max: number): string {
  const alphabet = 'abc xyz\r\t;:,{}[]"\\0123456789END\n';
  let s = "";
  for (let i = rng.int(0, max); i > 0; i--) s += alphabet[rng.int(0, alphabet.length - 1)];
  return s;
}

function noNewline(rng: Rng, max: number): string {
  return text(rng, max).replaceAll("\n", "");
}

function isBytes(v: unknown, max = MAX): void {
  assert.ok(v instanceof Uint8Array, `not bytes: ${v}`);
  assert.ok(v.length <= max, `${v.length} bytes delivered, maxLength ${max}`);
}

function isLine(v: unknown, max = MAX): void {
  assert.ok(Array.isArray(v) && v.length === 2, `not [line, eol]: ${v}`);
  assert.equal(typeof v[0], "string");
  assert.equal(typeof v[1], "string");
  assert.ok(utf8.encode(v[0]).length <= max * 3, "a line far over maxLength was delivered");
}

function leadingSpace(buf: ReadBuffer): number {
  let i = 0;
  while ([0x20, 0x0a, 0x0d, 0x09].includes(buf.at(i)!)) i++;
  return i;
}

function randomJson(rng: Rng, depth = 0): unknown {
  const r = rng.int(0, depth > 2 ? 3 : 5);
  if (r === 0) return rng.int(-1000, 1000);
  if (r === 1) return noNewline(rng, 20);
  if (r === 2) return rng.pick([true, false, null]);
  if (r === 3) return rng.next() * 1e6;
  if (r === 4) return Array.from({ length: rng.int(0, 4) }, () => randomJson(rng, depth + 1));
  return Object.fromEntries(
    Array.from({ length: rng.int(0, 4) }, () => [noNewline(rng, 8), randomJson(rng, depth + 1)]),
  );
}

function packstringSpec(format: "C" | "n" | "N" | "w"): Spec {
  const width = { C: 1, n: 2, N: 4, w: 0 }[format];
  return {
    name: `packstring ${format}`,
    make: () => packstringDecoder(format, { maxLength: MAX }),
    frame: (rng) => encodePackstring(format, rng.bytes(rng.int(0, format === "C" ? 255 : 300))),
    codes: ["EMSGSIZE", "EBADMSG"],
    // A BER prefix for lengths up to 256 takes 2 bytes; allow a few more.
    bound: () => (width || 8) + MAX,
    check: (v) => isBytes(v),
    iterate: (h) => h.iterate("packstring", format, { maxLength: MAX }),
  };
}

const SPECS: Spec[] = [
  {
    name: "line",
    make: () => lineDecoder({ maxLength: MAX }),
    frame: (rng) => utf8.encode(noNewline(rng, 300) + rng.pick(["\n", "\r\n"])),
    codes: ["EMSGSIZE"],
    bound: () => MAX + 1,
    check: (v) => isLine(v),
    checkFirst: (v) => assert.equal(typeof v, "string"),
    iterate: (h) => h.iterate("line", { maxLength: MAX }),
  },
  {
    name: "line with a CRLF eol",
    make: () => lineDecoder({ eol: "\r\n", maxLength: MAX }),
    frame: (rng) => utf8.encode(text(rng, 300) + "\r\n"),
    codes: ["EMSGSIZE"],
    bound: () => MAX + 1,
    check: (v) => isLine(v),
    checkFirst: (v) => assert.equal(typeof v, "string"),
    iterate: (h) => h.iterate("line", { eol: "\r\n", maxLength: MAX }),
  },
  {
    name: "line with a RegExp eol",
    make: () => lineDecoder({ eol: /\r?\n|;/, maxLength: MAX }),
    frame: (rng) => utf8.encode(text(rng, 300).replaceAll(";", "") + rng.pick(["\n", ";"])),
    codes: ["EMSGSIZE"],
    bound: () => MAX + 1024, // a RegExp marker may reach 1 KiB past maxLength
    check: (v) => isLine(v),
    checkFirst: (v) => assert.equal(typeof v, "string"),
    splitDependent: true,
    iterate: (h) => h.iterate("line", { eol: /\r?\n|;/, maxLength: MAX }),
  },
  {
    name: "line in discard mode",
    make: () => lineDecoder({ maxLength: MAX, discard: true }),
    frame: (rng) => utf8.encode(noNewline(rng, 400) + "\n"),
    codes: ["EMSGSIZE"],
    bound: () => MAX + 1,
    check: (v) => isLine(v),
    checkFirst: (v) => assert.equal(typeof v, "string"),
    iterate: (h) => h.iterate("line", { maxLength: MAX, discard: true }),
  },
  {
    name: "chunk",
    make: () => chunkDecoder(100),
    frame: (rng) => rng.bytes(100),
    codes: [],
    bound: () => 99,
    check: (v) => {
      isBytes(v);
      assert.equal((v as Uint8Array).length, 100);
    },
    iterate: (h) => h.iterate("chunk", 100),
  },
  {
    name: "regex",
    make: () => regexDecoder(/END\n/, { reject: /\0\0/, maxLength: MAX }),
    frame: (rng) => utf8.encode(noNewline(rng, 200) + "END\n"),
    codes: ["EMSGSIZE", "EBADMSG"],
    bound: () => MAX,
    check: (v) => assert.ok(Array.isArray(v) && typeof v[0] === "string"),
    checkFirst: (v) => assert.equal(typeof v, "string"),
    splitDependent: true,
    iterate: (h) => h.iterate("regex", /END\n/, { reject: /\0\0/, maxLength: MAX }),
  },
  {
    name: "netstring",
    make: () => netstringDecoder({ maxLength: MAX }),
    frame: (rng) => encodeNetstring(rng.bytes(rng.int(0, 300))),
    codes: ["EMSGSIZE", "EBADMSG"],
    bound: () => MAX + String(MAX).length + 1,
    check: (v) => isBytes(v),
    iterate: (h) => h.iterate("netstring", { maxLength: MAX }),
  },
  packstringSpec("C"),
  packstringSpec("n"),
  packstringSpec("N"),
  packstringSpec("w"),
  {
    name: "json",
    make: () => jsonDecoder({ maxLength: MAX }),
    frame: (rng) => {
      const t = encodeJson(randomJson(rng));
      // A top-level number or literal needs a delimiter after it.
      return /^[-0-9tfn]/.test(String.fromCharCode(t[0])) ? new Uint8Array([...t, 0x20]) : t;
    },
    codes: ["EMSGSIZE", "EBADMSG"],
    // Whitespace before a text may run up to maxLength bytes (then EMSGSIZE).
    bound: (buf) => MAX + 1 + leadingSpace(buf),
    check: () => {},
    iterate: (h) => h.iterate("json", { maxLength: MAX }),
  },
  {
    name: "proxy",
    make: (rng) => proxyDecoder({ maxLength: MAX, version: rng.pick([undefined, 1, 2] as const) }),
    frame: (rng) => {
      const header = {
        source: { hostname: `192.0.2.${rng.int(0, 255)}`, port: rng.int(0, 65535) },
        destination: { hostname: "2001:db8::1", port: rng.int(0, 65535) },
      };
      if (rng.next() < 0.5) {
        return encodeProxyV1({
          ...header,
          destination: { hostname: "198.51.100.7", port: header.destination.port },
        });
      }
      return encodeProxyV2({
        ...header,
        source: { hostname: "2001:db8::2", port: header.source.port },
        tlvs: [{ type: 0xe0, value: rng.bytes(rng.int(0, 40)) }],
      }, { checksum: rng.next() < 0.5 });
    },
    codes: ["EMSGSIZE", "EBADMSG"],
    bound: () => Math.max(107, 16 + MAX),
    check: (v) => assert.ok([1, 2].includes((v as { version: number }).version)),
    iterate: (h) => h.iterate("proxy", { maxLength: MAX }),
  },
  {
    name: "cbor",
    make: () => cborDecoder({ maxLength: MAX, maxDepth: 16 }),
    frame: (rng) => encodeCbor(randomJson(rng)),
    codes: ["EMSGSIZE", "EBADMSG"],
    bound: () => MAX,
    check: () => {},
    iterate: (h) => h.iterate(cbor, { maxLength: MAX, maxDepth: 16 }),
  },
];

/** Seeded hostile input for a spec: random bytes, or valid frames mutated. */
function hostile(spec: Spec, rng: Rng): Uint8Array {
  if (rng.next() < 0.3) return rng.bytes(rng.int(0, 600));
  const parts: number[] = [];
  for (let n = rng.int(1, 4); n > 0; n--) parts.push(...spec.frame(rng));
  for (let n = rng.int(0, 3); n > 0 && parts.length > 0; n--) {
    const at = rng.int(0, parts.length - 1);
    const what = rng.int(0, 3);
    if (what === 0) parts[at] = rng.int(0, 255); // a byte changed
    else if (what === 1) parts.splice(at, rng.int(1, 8)); // bytes lost
    else if (what === 2) parts.splice(at, 0, ...rng.bytes(rng.int(1, 8))); // bytes inserted
    else parts.length = at; // cut short
  }
  return new Uint8Array(parts);
}

/** Bytes as hex, for reproducing a failure. */
function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Random cut points: the input as it might arrive from a socket. */
function pieces(bytes: Uint8Array, rng: Rng): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = rng.next() < 0.2 ? 1 : rng.int(1, 64);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

interface Outcome {
  values: number;
  /** Values delivered before the first error. */
  beforeError?: number;
  /** Codes of the errors thrown, in order; the last is fatal if any is. */
  errors: string[];
}

/** Feeds the pieces to a decoder as the handle's loop would, checking the contract. */
function feed(spec: Spec, decoder: Decoder<unknown>, input: Uint8Array[], what: string): Outcome {
  const buf = new ReadBuffer();
  const out: Outcome = { values: 0, errors: [] };
  const skips = (decoder as { skips?: boolean }).skips === true;
  const step = (eof: boolean): boolean => {
    for (let guard = 0; guard < 10_000; guard++) {
      const before = buf.length;
      let value: unknown;
      try {
        value = eof && decoder.decodeEof ? decoder.decodeEof(buf) : decoder.decode(buf);
      } catch (e) {
        assert.ok(e instanceof HandleError, `${what}: threw ${e}`);
        assert.ok(DOCUMENTED_CODES.has(e.code), `${what}: undocumented code ${e.code}`);
        assert.ok(spec.codes.includes(e.code), `${what}: ${e.code}: ${e.message}`);
        out.errors.push(e.code);
        out.beforeError ??= out.values;
        if (e.fatal) return false;
        if (buf.length === before) return true; // the handle stops too: no progress possible
        continue;
      }
      if (value === NEED_MORE) {
        // At end of input a decoder may drop padding (json: trailing whitespace).
        if (!skips && !eof) assert.equal(buf.length, before, `${what}: NEED_MORE after consuming`);
        assert.ok(
          buf.length <= spec.bound(buf),
          `${what}: waits with ${buf.length} bytes buffered, bound ${spec.bound(buf)}`,
        );
        return true;
      }
      assert.ok(buf.length < before || before === 0, `${what}: a value without consuming`);
      spec.check(value);
      out.values++;
    }
    throw new Error(`${what}: the decoder loops`);
  };
  for (const piece of input) {
    buf.append(piece);
    if (!step(false)) return out;
  }
  step(true);
  return out;
}

const CASES_PER_TYPE = 300;

Deno.test(`hostile: ${SPECS.length * CASES_PER_TYPE} seeded random and mutated inputs decoded on a ReadBuffer give only documented HandleErrors and never wait past their limits`, () => {
  let splitDiffers = 0;
  for (const [t, spec] of SPECS.entries()) {
    for (let i = 0; i < CASES_PER_TYPE; i++) {
      const rng = new Rng(0x4057 + t * 100_003 + i);
      const input = hostile(spec, rng);
      const decoderSeed = rng.int(0, 2 ** 30);
      const what = `${spec.name}, case ${i}`;
      const whole = feed(spec, spec.make(new Rng(decoderSeed)), [input], `${what} (whole)`);
      const split = feed(spec, spec.make(new Rng(decoderSeed)), pieces(input, rng), what);
      const bytewise = feed(
        spec,
        spec.make(new Rng(decoderSeed)),
        Array.from(input, (_, k) => input.subarray(k, k + 1)),
        `${what} (byte by byte)`,
      );
      if (spec.splitDependent) {
        if (JSON.stringify(whole) !== JSON.stringify(split)) splitDiffers++;
        continue;
      }
      // However the bytes arrive, the same values up to the first error, and the same error.
      // (How far a non-fatal error skips to resynchronise depends on what is buffered: json
      // skips bad text up to the next whitespace or bracket that has arrived.)
      for (const [how, o] of [["split", split], ["byte by byte", bytewise]] as const) {
        const detail = `${JSON.stringify(o)} vs whole ${JSON.stringify(whole)}, input ${
          hex(input)
        }`;
        assert.equal(o.beforeError, whole.beforeError, `${what}: ${how} differs: ${detail}`);
        assert.equal(o.errors[0], whole.errors[0], `${what}: ${how} failed otherwise: ${detail}`);
        if (whole.errors.length === 0) assert.equal(o.values, whole.values, `${what}: ${detail}`);
      }
    }
  }
  console.log(`RegExp framings that matched differently when split: ${splitDiffers}`);
});

// ---- through sockets ----

const SOCKET_CASES_PER_TYPE = 25;

Deno.test(`hostile: ${SPECS.length * SOCKET_CASES_PER_TYPE} seeded hostile inputs through real sockets end each handle cleanly or with one documented fatal error`, async () => {
  const fds = openFds();
  const run = async (spec: Spec, t: number, i: number) => {
    const rng = new Rng(0x50c + t * 7919 + i);
    const input = hostile(spec, rng);
    const what = `${spec.name}, socket case ${i}`;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted = listener.accept();
    const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    listener.close();
    const fatal: HandleError[] = [];
    let maxRbuf = 0;
    const h = new Handle(await accepted, {
      maxFrameLength: MAX,
      onError(h, err) {
        fatal.push(err);
        maxRbuf = Math.max(maxRbuf, h.rbuf.length);
      },
    });
    const reading = later((async () => {
      const thrown: HandleError[] = [];
      for (let attempt = 0; attempt < 100 && !h.destroyed; attempt++) {
        try {
          for await (const value of spec.iterate(h)) {
            maxRbuf = Math.max(maxRbuf, h.rbuf.length);
            (spec.checkFirst ?? spec.check)(value);
          }
          return thrown; // clean end of input
        } catch (e) {
          assert.ok(e instanceof HandleError, `${what}: ${e}`);
          thrown.push(e);
          if (e.fatal) return thrown;
        }
      }
      return thrown;
    })());
    for (const piece of pieces(input, rng)) {
      try {
        await client.write(piece);
      } catch {
        break; // the handle failed and closed: a reset
      }
      if (rng.next() < 0.1) await sleep(0);
    }
    await client.closeWrite().catch(() => {});
    const [result] = await settled([reading], 5000, `${what}: the reads`);
    if (result.status === "rejected") throw result.reason;
    const thrown = result.value;
    h.destroy();
    await within(h.closed.catch(() => {}), 5000, `${what}: h.closed`);
    client.close();
    assert.ok(fatal.length <= 1, `${what}: ${describe(fatal)}`);
    for (const err of thrown) {
      assert.ok(
        spec.codes.includes(err.code) || err.code === "EPIPE",
        `${what}: ${err.code}: ${err.message}`,
      );
    }
    if (fatal.length === 1) {
      assert.equal(fatal[0].fatal, true);
      assert.equal(thrown[thrown.length - 1], fatal[0], `${what}: the read saw the fatal error`);
    }
    assert.ok(maxRbuf <= spec.bound(h.rbuf) + MAX_READ, `${what}: ${maxRbuf} bytes buffered`);
    return fatal.length;
  };
  const jobs: [Spec, number, number][] = [];
  for (const [t, spec] of SPECS.entries()) {
    for (let i = 0; i < SOCKET_CASES_PER_TYPE; i++) jobs.push([spec, t, i]);
  }
  let failedHandles = 0;
  // Sixteen connections at a time.
  for (let at = 0; at < jobs.length; at += 16) {
    const batch = jobs.slice(at, at + 16).map(([spec, t, i]) => run(spec, t, i));
    for (const r of await settled(batch, 20_000, "a batch of socket cases")) {
      if (r.status === "rejected") throw r.reason;
      failedHandles += r.value;
    }
  }
  await assertFdsBack(fds);
  console.log(`${jobs.length} socket cases, ${failedHandles} ended with a fatal error`);
});

// ---- classic attacks ----

interface Attack {
  /** The handle's options (onError is added). */
  options?: HandleOptions;
  /** The read under attack, as a promise (of its first value, or of a loop). */
  read(h: Handle): Promise<unknown>;
  /** What the attacker sends first. */
  head: Uint8Array | string;
  /** What it then sends over and over, while the handle is open, up to `upTo` bytes in all. */
  filler?: Uint8Array;
  upTo?: number;
}

interface Result {
  error: HandleError | undefined;
  /** `h.rbuf.length` when the error was reported. */
  rbufAtError: number;
  /** The most bytes seen in `h.rbuf` meanwhile. */
  maxRbuf: number;
  /** How many bytes the attacker got out before the handle gave up. */
  sent: number;
  read: PromiseSettledResult<unknown>;
}

async function attack(a: Attack): Promise<Result> {
  const fds = openFds();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const peer = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const errors: HandleError[] = [];
  let rbufAtError = 0;
  const h = new Handle(await accepted, {
    ...a.options,
    onError(h, err) {
      errors.push(err);
      rbufAtError = h.rbuf.length;
    },
  });
  listener.close();
  const read = later(a.read(h));
  let sent = 0;
  let maxRbuf = 0;
  const head = typeof a.head === "string" ? utf8.encode(a.head) : a.head;
  try {
    await peer.write(head).then((n) => sent += n);
    while (a.filler && sent < (a.upTo ?? 0) && !h.destroyed) {
      sent += await peer.write(a.filler);
      maxRbuf = Math.max(maxRbuf, h.rbuf.length);
    }
    await peer.closeWrite();
  } catch { /* the handle gave up and closed: the attacker's writes are reset */ }
  const [result] = await settled([read], 20_000, "the attacked read");
  h.destroy();
  await within(h.closed.catch(() => {}), 5000, "h.closed");
  peer.close();
  await assertFdsBack(fds);
  assert.ok(errors.length <= 1, describe(errors));
  maxRbuf = Math.max(maxRbuf, rbufAtError);
  return { error: errors[0], rbufAtError, maxRbuf, sent, read: result };
}

function assertFailed(r: Result, code: HandleErrorCode, bound: number): void {
  assert.ok(r.error !== undefined, `no error after ${r.sent} bytes`);
  assert.equal(r.error.code, code, r.error.message);
  assert.equal(r.error.fatal, true);
  assert.equal(r.read.status, "rejected");
  assert.equal((r.read as PromiseRejectedResult).reason, r.error);
  assert.ok(r.maxRbuf <= bound, `${r.maxRbuf} bytes buffered, bound ${bound}`);
}

const MIB = 2 ** 20;
const DEFAULT_MAX = MIB; // every framing's default maxLength

Deno.test("hostile: a netstring announcing 10^12 bytes fails with EMSGSIZE from its header alone", async () => {
  const r = await attack({
    read: (h) => h.read("netstring"),
    head: "1000000000000:",
    filler: new Uint8Array(64 * 1024).fill(0x78),
    upTo: 8 * MIB,
  });
  assertFailed(r, "EMSGSIZE", 14 + MAX_READ);
  assert.ok(r.rbufAtError <= 2048, "it failed on the first read (2 KiB), not later");
});

Deno.test("hostile: a packstring N prefix of 0xffffffff fails with EMSGSIZE before any payload", async () => {
  const r = await attack({
    read: (h) => h.read("packstring", "N"),
    head: new Uint8Array([0xff, 0xff, 0xff, 0xff]),
    filler: new Uint8Array(64 * 1024),
    upTo: 8 * MIB,
  });
  assertFailed(r, "EMSGSIZE", 4 + MAX_READ);
  assert.ok(r.rbufAtError <= 2048, "it failed on the first read (2 KiB), not later");
});

Deno.test("hostile: a packstring w prefix that never ends (0xff bytes) fails with EMSGSIZE at once", async () => {
  const r = await attack({
    read: (h) => h.read("packstring", "w"),
    head: new Uint8Array([0xff]),
    filler: new Uint8Array(64 * 1024).fill(0xff),
    upTo: 8 * MIB,
  });
  assertFailed(r, "EMSGSIZE", 16 + MAX_READ);
});

Deno.test({
  name:
    "hostile: a packstring w prefix of endless 0x80 bytes fails within a few bytes instead of growing",
  async fn() {
    // 0x80 is a BER continuation byte that adds nothing to the value: the length stays 0, so
    // `value > maxLength` never trips and the decoder waits for the prefix to end, rescanning
    // it from the start on every read (quadratic). Expected: EMSGSIZE or EBADMSG within a few
    // bytes (a length up to 1 MiB needs at most 3 prefix bytes). Before the fix: EPIPE at end of input,
    // with all 8 MiB buffered.
    const r = await attack({
      read: (h) => h.read("packstring", "w"),
      head: new Uint8Array([0x80]),
      filler: new Uint8Array(64 * 1024).fill(0x80),
      upTo: 8 * MIB,
    });
    assert.ok(r.error !== undefined);
    assert.ok(["EMSGSIZE", "EBADMSG"].includes(r.error.code), `${r.error.code} after ${r.sent}`);
    assert.ok(r.maxRbuf <= 16 + MAX_READ, `${r.maxRbuf} bytes buffered`);
  },
});

Deno.test("hostile: a 2 MiB line fails with EMSGSIZE, buffering no more than maxLength and one read", async () => {
  const r = await attack({
    read: (h) => h.read("line"),
    head: "x",
    filler: new Uint8Array(64 * 1024).fill(0x78),
    upTo: 2 * MIB,
  });
  assertFailed(r, "EMSGSIZE", DEFAULT_MAX + 2 + MAX_READ);
  assert.ok(r.rbufAtError >= DEFAULT_MAX + 2, "it failed only once the limit was certain");
});

/** Sends a 2 MiB line in 64 KiB writes, then "\nnext\n"; returns the most bytes h.rbuf held. */
async function longLineThenNext(h: Handle, peer: Deno.Conn): Promise<number> {
  const filler = new Uint8Array(64 * 1024).fill(0x78);
  let maxRbuf = 0;
  for (let sent = 0; sent < 2 * MIB; sent += filler.length) {
    await peer.write(filler);
    maxRbuf = Math.max(maxRbuf, h.rbuf.length);
  }
  await peer.write(utf8.encode("\nnext\n"));
  return maxRbuf;
}

async function handleAndPeer(options?: HandleOptions): Promise<[Handle, Deno.TcpConn]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const peer = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const h = new Handle(await accepted, options);
  listener.close();
  return [h, peer];
}

Deno.test("hostile: a 2 MiB line in discard mode is skipped with one non-fatal EMSGSIZE and the next line is read", async () => {
  const fds = openFds();
  const errors: HandleError[] = [];
  const [h, peer] = await handleAndPeer({ onError: (_h, e) => errors.push(e) });
  const lines: string[] = [];
  const next = new Promise<void>((resolve) => {
    h.pushRead("line", { discard: true }, (_h, line) => {
      lines.push(line);
      resolve();
    });
  });
  const maxRbuf = await longLineThenNext(h, peer);
  await within(next, 5000, "the next line");
  assert.deepEqual(lines, ["next"]);
  assert.equal(errors.length, 1, describe(errors));
  assert.equal(errors[0].code, "EMSGSIZE");
  assert.equal(errors[0].fatal, false);
  assert.ok(maxRbuf <= DEFAULT_MAX + 2 + MAX_READ, `${maxRbuf} bytes buffered`);
  h.destroy();
  await h.closed;
  peer.close();
  await assertFdsBack(fds);
});

Deno.test({
  name:
    'hostile: read("line", { discard: true }) rejects an over-long line and the next read gets the next line, not its tail',
  async fn() {
    // LineOptions.discard says the over-long line "is skipped through its end-of-line marker,
    // a non-fatal EMSGSIZE is reported (a promise read rejects with it), and reading continues
    // with the next line". With pushRead that holds (the queued read keeps its discarding
    // decoder). With read() (and iterate()), the rejected request and its decoder are dropped
    // while the line's tail has not arrived yet, so the next read starts mid-line and delivers
    // the tail (here about 1 MiB of "x") as a line: a peer can smuggle a line in. Expected
    // "next". Short repro: maxLength 10, send "x".repeat(20), read() rejects EMSGSIZE, send
    // "yyy\nnext\n", the next read() gives "yyy".
    const [h, peer] = await handleAndPeer();
    const first = later(h.read("line", { discard: true }));
    await longLineThenNext(h, peer);
    await assert.rejects(first, (e) => e instanceof HandleError && e.code === "EMSGSIZE");
    const next = await within(h.read("line", { discard: true }), 5000, "the next line");
    h.destroy();
    await h.closed;
    peer.close();
    assert.ok(next === "next", `got a line of ${next.length} bytes: ${next.slice(0, 20)}...`);
  },
});

Deno.test("hostile: a regex that never matches fails with EMSGSIZE after maxLength", async () => {
  const r = await attack({
    read: (h) => h.read("regex", /\r\n\r\n/),
    head: "GET / HTTP/1.1\r\n",
    filler: utf8.encode("X-Padding: yes\r\n".repeat(4096)),
    upTo: 4 * MIB,
  });
  assertFailed(r, "EMSGSIZE", DEFAULT_MAX + 1 + MAX_READ);
});

Deno.test("hostile: a PROXY v1 line without its CRLF fails with EBADMSG by byte 107", async () => {
  const r = await attack({
    read: (h) => h.read("proxy"),
    head: "PROXY TCP4 ",
    filler: utf8.encode("1".repeat(4096)),
    upTo: 1 * MIB,
  });
  assertFailed(r, "EBADMSG", 107 + MAX_READ);
});

const DEEP = 400_000;

Deno.test("hostile: a 400,000-deep JSON array cut off by end of input fails with EPIPE, no stack overflow", async () => {
  const r = await attack({ read: (h) => h.read("json"), head: "[".repeat(DEEP) });
  assertFailed(r, "EPIPE", DEEP + MAX_READ);
});

Deno.test("hostile: a 400,000-deep JSON array over a smaller maxLength fails with EMSGSIZE", async () => {
  const r = await attack({
    read: (h) => h.read("json", { maxLength: 100_000 }),
    head: "[".repeat(DEEP),
  });
  assertFailed(r, "EMSGSIZE", 100_001 + MAX_READ);
});

Deno.test("hostile: a complete 400,000-deep JSON array is decoded or rejected as EBADMSG, and the next text still reads", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const peer = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const errors: HandleError[] = [];
  const h = new Handle(await accepted, { onError: (_h, e) => errors.push(e) });
  listener.close();
  const deep = later(h.read("json"));
  const next = later(h.read("json"));
  await peer.write(utf8.encode("[".repeat(DEEP) + "]".repeat(DEEP) + '{"after":true}'));
  const [d, n] = await settled<unknown>([deep, next], 10_000, "the json reads");
  if (d.status === "rejected") {
    assert.ok(d.reason instanceof HandleError && d.reason.code === "EBADMSG", String(d.reason));
  } else {
    let depth = 0;
    for (let v = d.value; Array.isArray(v); v = v[0]) depth++;
    assert.equal(depth, DEEP);
  }
  assert.deepEqual(n.status === "fulfilled" && n.value, { after: true });
  assert.equal(errors.length, 0, describe(errors));
  h.destroy();
  await h.closed;
  peer.close();
});

Deno.test("hostile: a 400,000-deep CBOR array fails with EMSGSIZE at maxDepth", async () => {
  const r = await attack({
    read: (h) => h.read(cbor),
    head: new Uint8Array(DEEP).fill(0x81),
  });
  assertFailed(r, "EMSGSIZE", DEEP + MAX_READ);
});

Deno.test({
  name: "hostile: a json read fed endless whitespace fails with EMSGSIZE past maxLength",
  async fn() {
    // The json scanner skips whitespace before a text without consuming it and without counting
    // it against maxLength ("whitespace before it not counted"), so a peer sending spaces forever
    // grows h.rbuf without bound (only rbufMax, Infinity by default, would stop it). Expected:
    // the whitespace consumed as it is skipped (the decoder may declare `skips`), or EMSGSIZE
    // past maxLength. Before the fix: EPIPE at end of input with all 8 MiB buffered.
    const r = await attack({
      read: (h) => h.read("json", { maxLength: 1024 }),
      head: " ",
      filler: new Uint8Array(64 * 1024).fill(0x20),
      upTo: 8 * MIB,
    });
    assert.ok(r.maxRbuf <= 1024 + 1 + MAX_READ, `${r.maxRbuf} bytes of whitespace buffered`);
  },
});
