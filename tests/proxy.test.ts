/**
 * The PROXY protocol codec (codecs/proxy.ts): decode called directly on a ReadBuffer, each
 * header fed whole, at every split point and one byte at a time, with the client's first bytes
 * behind it; hostile headers, each failing at the first impossible byte; the encoders; the
 * address text helpers against Node's and the URL parser's; and a Handle over loopback.
 */
import assert from "node:assert/strict";
import { isIPv4, isIPv6 } from "node:net";
import { type Decoder, Handle, HandleError, NEED_MORE, ReadBuffer } from "../mod.ts";
import {
  encodeProxyV1,
  encodeProxyV2,
  PROXY_TLV,
  proxyDecoder,
  type ProxyInfo,
  type ProxyOptions,
} from "../codecs/proxy.ts";
import { formatIpv6, ipv6Bytes, scanIpv4, scanIpv6, scanPort } from "../codecs/_ip.ts";
import { crc32c } from "../codecs/_crc32c.ts";
import { pair, writeAll } from "./_net.ts";
import { concat, splits, utf8 } from "./_split.ts";

const APP = utf8("GET / HTTP/1.1\r\n");
const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/** What feeding pieces to one decoder produced. */
interface Outcome {
  value?: ProxyInfo;
  error?: { code: string; fatal: boolean; message: string };
  /** Bytes appended when the decoder answered (the value or the error). */
  fed: number;
  /** The buffer afterwards, with every piece appended. */
  rest: Uint8Array;
}

/**
 * Appends the pieces one by one, decoding after each until a value or an error; the pieces
 * after that are appended without decoding. Asserts that NEED_MORE consumed nothing and that an
 * error left the buffer as it was.
 */
function feed(make: () => Decoder<ProxyInfo>, pieces: Uint8Array[]): Outcome {
  const buf = new ReadBuffer();
  const decoder = make();
  let fed = 0;
  let outcome: Omit<Outcome, "rest"> | undefined;
  for (const piece of pieces) {
    buf.append(piece);
    fed += piece.length;
    if (outcome !== undefined) continue;
    const before = buf.length;
    try {
      const v = decoder.decode(buf);
      if (v === NEED_MORE) assert.equal(buf.length, before, "NEED_MORE consumed bytes");
      else outcome = { value: v, fed };
    } catch (e) {
      assert.ok(e instanceof HandleError, `not a HandleError: ${e}`);
      assert.equal(buf.length, before, "an error consumed bytes");
      outcome = { error: { code: e.code, fatal: e.fatal, message: e.message }, fed };
    }
  }
  return { ...(outcome ?? { fed }), rest: buf.bytes().slice() };
}

/**
 * Feeds `bytes` whole, cut in two at every point, and one byte at a time, asserting the value
 * or error and what is left are the same each way; returns the byte-at-a-time outcome, whose
 * `fed` says at which byte the decoder answered.
 */
function everySplit(bytes: Uint8Array, options?: ProxyOptions): Outcome {
  const make = () => proxyDecoder(options);
  const key = (o: Outcome) =>
    JSON.stringify({
      value: o.value,
      error: o.error?.code,
      fatal: o.error?.fatal,
      rest: o.error ? undefined : Array.from(o.rest),
    }, (_k, v) => v instanceof Uint8Array ? Array.from(v) : v);
  const all = splits(bytes);
  const slow = feed(make, all[all.length - 1]);
  for (const pieces of [[bytes], ...all]) {
    const got = feed(make, pieces);
    assert.equal(key(got), key(slow), `split ${pieces.map((p) => p.length).join("+")}`);
  }
  return slow;
}

/** Asserts a fatal EBADMSG (or `code`) at byte `at` when fed one byte at a time. */
function failsAt(bytes: Uint8Array, at: number, code = "EBADMSG", options?: ProxyOptions): string {
  const out = everySplit(bytes, options);
  assert.ok(out.error, `no error for ${JSON.stringify(new TextDecoder().decode(bytes))}`);
  assert.equal(out.error.code, code, out.error.message);
  assert.equal(out.error.fatal, true);
  assert.equal(out.fed, at, `failed at byte ${out.fed}, not ${at}: ${out.error.message}`);
  return out.error.message;
}

/** Asserts the header decodes to `info` and that exactly the header was consumed. */
function decodes(header: Uint8Array, info: ProxyInfo, options?: ProxyOptions): void {
  const out = everySplit(concat(header, APP), options);
  assert.equal(out.error, undefined, out.error?.message);
  assert.deepEqual(out.value, info);
  assert.equal(out.fed, header.length, "the value came before the header was complete");
  assert.deepEqual(out.rest, APP);
}

const v1 = (line: string) => utf8(line);

/** A v2 header built by hand: version/command, family byte, then the body. */
function v2(verCmd: number, fam: number, body: number[] | Uint8Array, length?: number) {
  const len = length ?? body.length;
  return new Uint8Array([...SIG, verCmd, fam, len >> 8, len & 0xff, ...body]);
}

const ADDR4 = [192, 0, 2, 1, 198, 51, 100, 7, 0xdc, 0x04, 0x01, 0xbb]; // ports 56324, 443
const tlv = (type: number, value: Uint8Array | number[]) => [
  type,
  value.length >> 8,
  value.length & 0xff,
  ...value,
];

// ---------------------------------------------------------------- version 1

Deno.test("proxy: v1 TCP4 decodes at every split, leaving the client's bytes", () => {
  decodes(v1("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n"), {
    version: 1,
    command: "PROXY",
    protocol: "TCP4",
    source: { hostname: "192.0.2.1", port: 56324 },
    destination: { hostname: "198.51.100.7", port: 443 },
    tlvs: [],
  });
  decodes(v1("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"), {
    version: 1,
    command: "PROXY",
    protocol: "TCP4",
    source: { hostname: "0.0.0.0", port: 0 },
    destination: { hostname: "255.255.255.255", port: 65535 },
    tlvs: [],
  });
});

Deno.test("proxy: v1 TCP6 decodes, with addresses in the form Deno reports", () => {
  decodes(v1("PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::FFFF:192.0.2.1 1 2\r\n"), {
    version: 1,
    command: "PROXY",
    protocol: "TCP6",
    source: { hostname: "2001:db8::1", port: 1 },
    destination: { hostname: "::ffff:192.0.2.1", port: 2 },
    tlvs: [],
  });
  // The longest TCP6 line the specification lists: 104 bytes.
  const f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const line = v1(`PROXY TCP6 ${f} ${f} 65535 65535\r\n`);
  assert.equal(line.length, 104);
  decodes(line, {
    version: 1,
    command: "PROXY",
    protocol: "TCP6",
    source: { hostname: f, port: 65535 },
    destination: { hostname: f, port: 65535 },
    tlvs: [],
  });
  decodes(v1("PROXY TCP6 ::1 :: 80 8080\r\n"), {
    version: 1,
    command: "PROXY",
    protocol: "TCP6",
    source: { hostname: "::1", port: 80 },
    destination: { hostname: "::", port: 8080 },
    tlvs: [],
  });
});

Deno.test("proxy: v1 UNKNOWN has no addresses, and the rest of its line is ignored", () => {
  const unknown: ProxyInfo = { version: 1, command: "PROXY", protocol: "UNKNOWN", tlvs: [] };
  decodes(v1("PROXY UNKNOWN\r\n"), unknown);
  decodes(v1("PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n"), unknown);
  decodes(v1("PROXY UNKNOWN anything  at all, even 999.1 or 0x\r\n"), unknown);
  // The worst case of the specification: exactly 107 bytes with the CRLF.
  const f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const longest = v1(`PROXY UNKNOWN ${f} ${f} 65535 65535\r\n`);
  assert.equal(longest.length, 107);
  decodes(longest, unknown);
});

Deno.test("proxy: a v1 line without CRLF in 107 bytes fails before more is read", () => {
  // 108 bytes of an UNKNOWN line and no CR: the CR of a valid line is at byte 106 at the latest.
  const noCrlf = v1("PROXY UNKNOWN " + "x".repeat(94));
  assert.equal(noCrlf.length, 108);
  const message = failsAt(noCrlf, 106);
  assert.match(message, /no CRLF within the first 107 bytes/);
  // A 108-byte line with its CRLF: fails at its 106th byte too, before the CR arrives.
  const long = v1("PROXY UNKNOWN " + "x".repeat(92) + "\r\n");
  assert.equal(long.length, 108);
  failsAt(long, 106);
  // 107 bytes with the CRLF are fine.
  decodes(v1("PROXY UNKNOWN " + "x".repeat(91) + "\r\n"), {
    version: 1,
    command: "PROXY",
    protocol: "UNKNOWN",
    tlvs: [],
  });
});

Deno.test("proxy: a first byte that starts neither header fails at once", () => {
  for (const first of ["G", "\x00", "\n", " ", "p", "\x16"]) failsAt(utf8(first + "ET /"), 1);
  assert.match(failsAt(APP, 1), /neither "PROXY " nor the v2 signature/);
});

Deno.test("proxy: a wrong v1 signature fails at the byte that differs", () => {
  failsAt(v1("PROXX TCP4"), 5);
  failsAt(v1("PROXY\r\n"), 6);
  failsAt(v1("PROXYTCP4"), 6);
  const partial = everySplit(v1("PROX"));
  assert.deepEqual([partial.value, partial.error, partial.rest.length], [undefined, undefined, 4]);
});

Deno.test("proxy: bad v1 addresses fail at the first impossible character", () => {
  const cases: [string, string][] = [
    // [line, the prefix of it (from its start) that ends at the impossible byte]
    ["PROXY TCP4 256.1.1.1 1.1.1.1 1 2\r\n", "PROXY TCP4 256"],
    ["PROXY TCP4 1.2.3.4.5 1.1.1.1 1 2\r\n", "PROXY TCP4 1.2.3.4."],
    ["PROXY TCP4 01.2.3.4 1.1.1.1 1 2\r\n", "PROXY TCP4 01"],
    ["PROXY TCP4 1.2.3.04 1.1.1.1 1 2\r\n", "PROXY TCP4 1.2.3.04"],
    ["PROXY TCP4 1..2.3 1.1.1.1 1 2\r\n", "PROXY TCP4 1.."],
    ["PROXY TCP4 .1.2.3 1.1.1.1 1 2\r\n", "PROXY TCP4 ."],
    ["PROXY TCP4 1.2.3 1.1.1.1 1 2\r\n", "PROXY TCP4 1.2.3 "],
    ["PROXY TCP4 1.2.3.4 ::1 1 2\r\n", "PROXY TCP4 1.2.3.4 :"],
    ["PROXY TCP4 1.2.3.4 1.2.3.1000 1 2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.1000"],
    ["PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "PROXY TCP6 1."],
    ["PROXY TCP6 ::1::2 ::1 1 2\r\n", "PROXY TCP6 ::1::"],
    ["PROXY TCP6 12345:: ::1 1 2\r\n", "PROXY TCP6 12345"],
    ["PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", "PROXY TCP6 1:2:3:4:5:6:7:8:"],
    ["PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n", "PROXY TCP6 1:2:3:4:5:6:7 "],
    ["PROXY TCP6 :1 ::1 1 2\r\n", "PROXY TCP6 :1"],
    ["PROXY TCP6 g::1 ::1 1 2\r\n", "PROXY TCP6 g"],
    ["PROXY TCP6 ::1 ::ffff:1.2.3.256 1 2\r\n", "PROXY TCP6 ::1 ::ffff:1.2.3.256"],
    ["PROXY TCP6 ::1 1:2:3:4:5:1.2.3.4 1 2\r\n", "PROXY TCP6 ::1 1:2:3:4:5:1."],
    ["PROXY TCP6 ::1 fe80::1%eth0 1 2\r\n", "PROXY TCP6 ::1 fe80::1%"],
  ];
  for (const [line, prefix] of cases) {
    assert.ok(line.startsWith(prefix), prefix);
    failsAt(v1(line), prefix.length);
  }
});

Deno.test("proxy: bad v1 ports, protocols and separators fail at the first impossible byte", () => {
  const cases: [string, number][] = [
    ["PROXY TCP4 1.1.1.1 2.2.2.2 65536 2\r\n", 32],
    ["PROXY TCP4 1.1.1.1 2.2.2.2 1 99999\r\n", 34],
    ["PROXY TCP4 1.1.1.1 2.2.2.2 01 2\r\n", 29],
    ["PROXY TCP4 1.1.1.1 2.2.2.2 -1 2\r\n", 28],
    ["PROXY TCP4 1.1.1.1 2.2.2.2 1e3 2\r\n", 29],
    ["PROXY  TCP4 1.1.1.1 2.2.2.2 1 2\r\n", 7], // double space: an empty protocol
    ["PROXY TCP4  1.1.1.1 2.2.2.2 1 2\r\n", 12],
    ["PROXY TCP4 1.1.1.1 2.2.2.2  1 2\r\n", 28],
    ["PROXY TCP4 1.1.1.1 2.2.2.2 1 2 \r\n", 31], // a space after the last port
    ["PROXY TCP4 1.1.1.1 2.2.2.2 1 \r\n", 30], // an empty last port
    ["PROXY TCP4\t1.1.1.1 2.2.2.2 1 2\r\n", 11],
    ["PROXY tcp4 1.1.1.1 2.2.2.2 1 2\r\n", 7],
    ["PROXY TCP5 1.1.1.1 2.2.2.2 1 2\r\n", 10],
    ["PROXY UDP4 1.1.1.1 2.2.2.2 1 2\r\n", 8],
    ["PROXY UNKNOWNX\r\n", 14],
    ["PROXY TCP4\r\n", 11], // the line ends after the protocol
    ["PROXY TCP4 1.1.1.1 2.2.2.2 1\r\n", 29],
    ["PROXY TCP4 1.1.1.1 2.2.2.2 1 2\n", 31], // a bare LF
    ["PROXY TCP4 1.1.1.1 2.2.2.2 1 2\rX", 32], // a CR without LF
    ["PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\r\n", 32],
    ["PROXY UNKNOWN \x01\r\n", 15], // a control character in the ignored rest
    ["PROXY UNKNOWN\n", 14],
  ];
  for (const [line, at] of cases) failsAt(v1(line), at);
  failsAt(concat(v1("PROXY UNKNOWN "), new Uint8Array([0xc3, 0xa9]), "\r\n"), 15);
});

// ---------------------------------------------------------------- version 2

Deno.test("proxy: v2 PROXY over IPv4 with TLVs decodes at every split; NOOP is dropped", () => {
  const header = v2(0x21, 0x11, [
    ...ADDR4,
    ...tlv(PROXY_TLV.ALPN, utf8("h2")),
    ...tlv(PROXY_TLV.NOOP, [0, 0, 0]),
    ...tlv(PROXY_TLV.AUTHORITY, utf8("example.com")),
    ...tlv(0xe0, []),
  ]);
  decodes(header, {
    version: 2,
    command: "PROXY",
    protocol: "TCP4",
    source: { hostname: "192.0.2.1", port: 56324 },
    destination: { hostname: "198.51.100.7", port: 443 },
    tlvs: [
      { type: 0x01, value: utf8("h2") },
      { type: 0x02, value: utf8("example.com") },
      { type: 0xe0, value: new Uint8Array() },
    ],
  });
  // The header the encoder writes is the same one.
  assert.deepEqual(
    encodeProxyV2({
      source: { hostname: "192.0.2.1", port: 56324 },
      destination: { hostname: "198.51.100.7", port: 443 },
      tlvs: [
        { type: 0x01, value: utf8("h2") },
        { type: 0x04, value: new Uint8Array(3) },
        { type: 0x02, value: utf8("example.com") },
        { type: 0xe0, value: new Uint8Array() },
      ],
    }),
    header,
  );
});

Deno.test("proxy: v2 PROXY over IPv6 decodes, with addresses in the form Deno reports", () => {
  const src = ipv6Bytes("2001:db8::1")!;
  const dst = ipv6Bytes("::ffff:127.0.0.1")!;
  const header = v2(0x21, 0x21, [...src, ...dst, 0xdc, 0x04, 0x01, 0xbb, ...tlv(0x05, [1, 2])]);
  decodes(header, {
    version: 2,
    command: "PROXY",
    protocol: "TCP6",
    source: { hostname: "2001:db8::1", port: 56324 },
    destination: { hostname: "::ffff:127.0.0.1", port: 443 },
    tlvs: [{ type: PROXY_TLV.UNIQUE_ID, value: new Uint8Array([1, 2]) }],
  });
});

Deno.test("proxy: v2 LOCAL has no addresses, even with an address block", () => {
  decodes(v2(0x20, 0x00, []), { version: 2, command: "LOCAL", protocol: "UNKNOWN", tlvs: [] });
  assert.deepEqual(encodeProxyV2({ command: "LOCAL" }), v2(0x20, 0x00, []));
  // A LOCAL header that still sends addresses (the receiver must skip them) and a TLV.
  decodes(v2(0x20, 0x11, [...ADDR4, ...tlv(0x02, utf8("a"))]), {
    version: 2,
    command: "LOCAL",
    protocol: "TCP4",
    tlvs: [{ type: 0x02, value: utf8("a") }],
  });
});

Deno.test("proxy: v2 PROXY with UNSPEC has no addresses, and may carry TLVs", () => {
  decodes(v2(0x21, 0x00, []), { version: 2, command: "PROXY", protocol: "UNKNOWN", tlvs: [] });
  decodes(v2(0x21, 0x00, tlv(0x01, utf8("x"))), {
    version: 2,
    command: "PROXY",
    protocol: "UNKNOWN",
    tlvs: [{ type: 0x01, value: utf8("x") }],
  });
  assert.deepEqual(encodeProxyV2({}), v2(0x21, 0x00, []));
});

Deno.test("proxy: v2 UDP reports its addresses; UNIX sockets report their paths", () => {
  decodes(v2(0x21, 0x12, ADDR4), {
    version: 2,
    command: "PROXY",
    protocol: "UDP4",
    source: { hostname: "192.0.2.1", port: 56324 },
    destination: { hostname: "198.51.100.7", port: 443 },
    tlvs: [],
  });
  const six = new Uint8Array(36);
  six[15] = 1;
  decodes(v2(0x21, 0x22, six), {
    version: 2,
    command: "PROXY",
    protocol: "UDP6",
    source: { hostname: "::1", port: 0 },
    destination: { hostname: "::", port: 0 },
    tlvs: [],
  });
  const paths = new Uint8Array(216);
  paths.set(utf8("/run/app.sock"), 0);
  paths.set(utf8("\0abstract"), 108);
  decodes(v2(0x21, 0x31, paths), {
    version: 2,
    command: "PROXY",
    protocol: "UNIX_STREAM",
    sourcePath: "/run/app.sock",
    destinationPath: "\0abstract",
    tlvs: [],
  });
  decodes(v2(0x21, 0x32, new Uint8Array(216)), {
    version: 2,
    command: "PROXY",
    protocol: "UNIX_DGRAM",
    sourcePath: "",
    destinationPath: "",
    tlvs: [],
  });
  assert.deepEqual(
    encodeProxyV2({ sourcePath: "/run/app.sock", destinationPath: "\0abstract" }),
    v2(0x21, 0x31, paths),
  );
});

Deno.test("proxy: a v2 CRC32C is checked", () => {
  assert.equal(crc32c(utf8("123456789")), 0xe3069283); // the standard check value
  const header = encodeProxyV2({
    source: { hostname: "192.0.2.1", port: 56324 },
    destination: { hostname: "198.51.100.7", port: 443 },
    tlvs: [{ type: 0x02, value: utf8("example.com") }],
  }, { checksum: true });
  const out = everySplit(concat(header, APP));
  assert.equal(out.value?.tlvs.length, 2);
  assert.equal(out.value?.tlvs[1].type, PROXY_TLV.CRC32C);
  // Any byte changed, anywhere in the header: the checksum no longer matches.
  for (const i of [16, 24, 35, header.length - 1]) {
    const bad = header.slice();
    bad[i] ^= 0x01;
    assert.match(failsAt(bad, bad.length), /CRC32C/);
  }
  // A CRC32C TLV given to the encoder gets its value computed.
  const given = encodeProxyV2({ tlvs: [{ type: 0x03, value: new Uint8Array([9, 9, 9, 9]) }] });
  assert.equal(everySplit(given).error, undefined);
  failsAt(v2(0x21, 0x00, tlv(0x03, [1, 2, 3])), 22); // not 4 bytes
  const twice = v2(0x21, 0x00, [...tlv(0x03, [0, 0, 0, 0]), ...tlv(0x03, [0, 0, 0, 0])]);
  assert.match(failsAt(twice, twice.length), /more than one CRC32C/);
});

Deno.test("proxy: a wrong v2 signature, version, command or family fails at its byte", () => {
  for (let i = 1; i < 12; i++) {
    const bad = v2(0x21, 0x11, ADDR4);
    bad[i] ^= 0x40;
    failsAt(bad, i + 1);
  }
  assert.match(failsAt(v2(0x11, 0x11, ADDR4), 13), /unsupported version 1/);
  failsAt(v2(0x31, 0x11, ADDR4), 13);
  failsAt(v2(0x01, 0x11, ADDR4), 13);
  assert.match(failsAt(v2(0x22, 0x11, ADDR4), 13), /unknown command 0x02/);
  failsAt(v2(0x2f, 0x11, ADDR4), 13);
  for (const fam of [0x13, 0x41, 0x10, 0x01, 0x20, 0x33, 0xff]) {
    assert.match(failsAt(v2(0x21, fam, ADDR4), 14), /family and transport/);
  }
});

Deno.test("proxy: a v2 length shorter than the address block fails at the 16th byte", () => {
  failsAt(v2(0x21, 0x11, ADDR4.slice(0, 11)), 16);
  failsAt(v2(0x21, 0x21, new Uint8Array(35)), 16);
  failsAt(v2(0x21, 0x31, new Uint8Array(215)), 16);
  failsAt(v2(0x20, 0x11, []), 16); // LOCAL too: the length must cover the family's block
  assert.match(failsAt(v2(0x21, 0x11, [], 0), 16), /shorter than the 12 bytes/);
});

Deno.test("proxy: a v2 TLV that runs past the header fails once the header is in", () => {
  const over = v2(0x21, 0x11, [...ADDR4, 0x01, 0x00, 0x0a, 1, 2, 3, 4, 5]);
  assert.match(failsAt(over, over.length), /runs past the end/);
  const stub = v2(0x21, 0x11, [...ADDR4, 0x01, 0x00]);
  assert.match(failsAt(stub, stub.length), /too few for a TLV/);
  const one = v2(0x21, 0x11, [...ADDR4, ...tlv(1, [7]), 0x02]);
  failsAt(one, one.length);
});

Deno.test("proxy: a v2 length over maxLength fails with EMSGSIZE before the body arrives", () => {
  const body = (n: number) => [...ADDR4, ...tlv(0xe0, new Uint8Array(n - 12 - 3))];
  assert.equal(everySplit(v2(0x21, 0x11, body(100)), { maxLength: 100 }).error, undefined);
  failsAt(v2(0x21, 0x11, body(101)), 16, "EMSGSIZE", { maxLength: 100 });
  const atDefault = v2(0x21, 0x11, body(4096));
  const bytes = Array.from(atDefault, (_, i) => atDefault.subarray(i, i + 1));
  const slow = feed(() => proxyDecoder(), bytes);
  assert.deepEqual([slow.error, slow.fed], [undefined, atDefault.length]);
  failsAt(v2(0x21, 0x11, [], 4097), 16, "EMSGSIZE");
  failsAt(v2(0x21, 0x11, [], 0xffff), 16, "EMSGSIZE");
  assert.equal(everySplit(v2(0x21, 0x00, []), { maxLength: 0 }).error, undefined);
  const big = encodeProxyV2({ tlvs: [{ type: 0xe0, value: new Uint8Array(65532) }] });
  assert.equal(big.length, 16 + 65535);
  assert.equal(feed(() => proxyDecoder({ maxLength: Infinity }), [big]).error, undefined);
});

Deno.test("proxy: the version option accepts only that version, failing at the first byte", () => {
  const one = v1("PROXY UNKNOWN\r\n");
  const two = v2(0x21, 0x00, []);
  assert.match(failsAt(one, 1, "EBADMSG", { version: 2 }), /expected version 2/);
  failsAt(two, 1, "EBADMSG", { version: 1 });
  assert.equal(everySplit(one, { version: 1 }).value?.version, 1);
  assert.equal(everySplit(two, { version: 2 }).value?.version, 2);
});

Deno.test("proxy: bad options are caller mistakes (RangeError)", () => {
  for (const maxLength of [-1, 1.5, NaN]) {
    assert.throws(() => proxyDecoder({ maxLength }), RangeError);
  }
  assert.throws(() => proxyDecoder({ version: 3 as never }), RangeError);
  proxyDecoder({ maxLength: 0 });
  proxyDecoder({ maxLength: Infinity });
});

Deno.test("proxy: one decoder decodes a header per call, with nothing kept between", () => {
  const buf = new ReadBuffer();
  const decoder = proxyDecoder();
  buf.append(concat(v1("PROXY UNKNOWN\r\n"), v2(0x20, 0x00, []), "PROXY TCP4 1.2"));
  assert.equal((decoder.decode(buf) as ProxyInfo).version, 1);
  assert.equal((decoder.decode(buf) as ProxyInfo).command, "LOCAL");
  assert.equal(decoder.decode(buf), NEED_MORE);
  buf.consume(buf.length); // another reader takes the partial line
  buf.append(v1("PROXY TCP4 1.1.1.1 2.2.2.2 3 4\r\n"));
  assert.equal((decoder.decode(buf) as ProxyInfo).source?.port, 3);
  assert.equal(buf.length, 0);
});

// ---------------------------------------------------------------- encoders

Deno.test("proxy: the encoders round-trip through the decoder", () => {
  const headers = [
    {
      source: { hostname: "10.0.0.1", port: 1234 },
      destination: { hostname: "10.0.0.2", port: 80 },
    },
    {
      source: { hostname: "2001:0db8:0000:0000:0000:0000:0000:0001", port: 1 },
      destination: { hostname: "::FFFF:10.1.2.3", port: 2 },
    },
    {},
  ];
  for (const header of headers) {
    for (const encode of [encodeProxyV1, encodeProxyV2]) {
      const info = everySplit(encode(header)).value!;
      assert.ok(info, JSON.stringify(header));
      // What was decoded encodes to the same bytes again (the canonical form).
      assert.deepEqual(encode(info), encode(header));
    }
  }
  assert.equal(
    new TextDecoder().decode(encodeProxyV1(headers[1])),
    "PROXY TCP6 2001:db8::1 ::ffff:10.1.2.3 1 2\r\n",
  );
  const udp = { ...headers[0], protocol: "UDP4" as const };
  assert.equal(everySplit(encodeProxyV2(udp)).value?.protocol, "UDP4");
});

Deno.test("proxy: the encoders refuse what they cannot encode (RangeError)", () => {
  const a4 = { hostname: "10.0.0.1", port: 1 };
  const a6 = { hostname: "::1", port: 1 };
  const bad: [(h: never) => Uint8Array, unknown][] = [
    [encodeProxyV1, { command: "LOCAL" }],
    [encodeProxyV1, { tlvs: [{ type: 1, value: new Uint8Array() }] }],
    [encodeProxyV1, { source: a4, destination: a4, protocol: "UDP4" }],
    [encodeProxyV1, { sourcePath: "/a", destinationPath: "/b" }],
    [encodeProxyV1, { source: a4 }],
    [encodeProxyV1, { source: a4, destination: a6 }],
    [encodeProxyV1, { source: { hostname: "010.0.0.1", port: 1 }, destination: a4 }],
    [encodeProxyV1, { source: { hostname: "example.com", port: 1 }, destination: a4 }],
    [encodeProxyV1, { source: { hostname: "10.0.0.1", port: 65536 }, destination: a4 }],
    [encodeProxyV1, { source: { hostname: "10.0.0.1", port: 1.5 }, destination: a4 }],
    [encodeProxyV1, { source: a4, destination: a4, protocol: "TCP6" }],
    [encodeProxyV1, { protocol: "TCP4" }],
    [encodeProxyV2, { command: "LOCAL", source: a4, destination: a4 }],
    [encodeProxyV2, { command: "NOPE" }],
    [encodeProxyV2, { source: a4, destination: a4, sourcePath: "/a", destinationPath: "/b" }],
    [encodeProxyV2, { sourcePath: "/a" }],
    [encodeProxyV2, { sourcePath: "x".repeat(109), destinationPath: "/b" }],
    [encodeProxyV2, { sourcePath: "/a", destinationPath: "/b", protocol: "TCP4" }],
    [encodeProxyV2, { tlvs: [{ type: 256, value: new Uint8Array() }] }],
    [encodeProxyV2, { tlvs: [{ type: 1, value: "text" }] }],
    [encodeProxyV2, { tlvs: [{ type: 1, value: new Uint8Array(65533) }] }],
  ];
  for (const [encode, header] of bad) {
    assert.throws(() => encode(header as never), RangeError, JSON.stringify(header));
  }
  // Exactly at the limit: 65535 bytes after the fixed part.
  assert.equal(
    encodeProxyV2({ tlvs: [{ type: 1, value: new Uint8Array(65532) }] }).length,
    16 + 65535,
  );
  const crc = { type: PROXY_TLV.CRC32C, value: new Uint8Array(4) };
  assert.throws(() => encodeProxyV2({ tlvs: [crc, crc] }), RangeError);
  // The checksum TLV counts too.
  const full = { type: 1, value: new Uint8Array(65532 - 7) };
  assert.equal(encodeProxyV2({ tlvs: [full] }, { checksum: true }).length, 16 + 65535);
  assert.throws(
    () =>
      encodeProxyV2({ tlvs: [{ ...full, value: new Uint8Array(65532 - 6) }] }, { checksum: true }),
    RangeError,
  );
});

// ---------------------------------------------------------------- address text

Deno.test("proxy: IPv6 text is formatted as Deno and the URL standard write it", () => {
  const cases: [string, string][] = [
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first of two equal runs
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // one zero group is not compressed
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run
    ["::ffff:1.2.3.4", "::ffff:1.2.3.4"], // mapped IPv4, as Deno's hostname
    ["::1.2.3.4", "::102:304"], // IPv4-compatible (deprecated): plain hex
    ["FE80::ABCD", "fe80::abcd"],
  ];
  for (const [text, canonical] of cases) assert.equal(formatIpv6(ipv6Bytes(text)!), canonical);
  // Random addresses with many zero groups, against the WHATWG URL serializer (RFC 5952 too).
  const random = seeded(12345);
  for (let n = 0; n < 2000; n++) {
    const groups = Array.from(
      { length: 8 },
      () => random() < 0.5 ? 0 : Math.floor(random() * 65536),
    );
    if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) continue;
    const full = groups.map((g) => g.toString(16)).join(":");
    const url = new URL(`http://[${full}]/`).hostname.slice(1, -1);
    assert.equal(formatIpv6(ipv6Bytes(full)!), url, full);
  }
});

Deno.test("proxy: the address validators agree with node:net, and never reject a valid prefix", () => {
  const random = seeded(777);
  const int = (n: number) => Math.floor(random() * n);
  const hexGroup = () => int(65536).toString(16).padStart(int(6), "0").slice(-1 - int(5));
  const decimal = () => String(int(300)).padStart(int(2) ? 1 : 2, "0");
  const quad = () => Array.from({ length: 3 + int(3) }, decimal).join(".");
  const six = () => {
    const groups = Array.from({ length: 1 + int(9) }, hexGroup);
    if (int(3) === 0) groups.push(quad());
    let text = groups.join(":");
    if (int(2)) {
      const at = int(groups.length + 1);
      text = [groups.slice(0, at).join(":"), groups.slice(at).join(":")].join("::");
    }
    return text;
  };
  const mutate = (text: string) => {
    if (int(4) !== 0) return text;
    const at = int(text.length + 1);
    return text.slice(0, at) + "0:.f"[int(4)] + text.slice(at + int(2));
  };
  const checkAll = (
    generate: () => string,
    scan: (s: string) => { prefix: boolean; complete: boolean },
    oracle: (s: string) => boolean,
  ) => {
    let valid = 0;
    for (let n = 0; n < 20000; n++) {
      const s = mutate(generate());
      const ok = oracle(s);
      assert.equal(scan(s).complete, ok, s);
      if (!ok) continue;
      valid++;
      for (let i = 0; i <= s.length; i++) assert.ok(scan(s.slice(0, i)).prefix, `${s} at ${i}`);
    }
    assert.ok(valid > 1000 && valid < 19000, `${valid} valid samples`);
  };
  checkAll(six, scanIpv6, isIPv6);
  checkAll(quad, scanIpv4, isIPv4);
  for (const port of ["0", "1", "80", "65535"]) assert.ok(scanPort(port).complete);
  for (const port of ["", "00", "01", "65536", "100000", "+1", " 1"]) {
    assert.equal(scanPort(port).complete, false, port);
  }
});

/** A small seeded generator (mulberry32), so that the random cases are the same every run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

// ---------------------------------------------------------------- a Handle over loopback

Deno.test("proxy: a Handle reads the header, then lines, over a real socket", async () => {
  const { h, peer, close } = await pair();
  const header = encodeProxyV1({
    source: { hostname: "203.0.113.9", port: 40000 },
    destination: { hostname: "127.0.0.1", port: 25 },
  });
  const wire = concat(header, "EHLO client\r\nQUIT\r\n");
  const got = h.read("proxy");
  for (let at = 0; at < wire.length; at += 7) {
    await writeAll(peer, wire.subarray(at, at + 7));
    await new Promise((r) => setTimeout(r, 1));
  }
  const info = await got;
  assert.deepEqual(info.source, { hostname: "203.0.113.9", port: 40000 });
  assert.equal(await h.read("line"), "EHLO client");
  assert.equal(await h.read("line"), "QUIT");
  await close();
});

Deno.test("proxy: pushRead and the proxy_v2 write type work between two Handles", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = new Handle(
    await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
  );
  const server = new Handle(await accepted);
  const seen = Promise.withResolvers<[ProxyInfo, string]>();
  server.pushRead("proxy", { maxLength: 64 }, (h, info) => {
    h.pushRead("line", (_h, line) => seen.resolve([info, line]));
  });
  client.pushWrite("proxy_v2", {
    source: { hostname: "2001:db8::5", port: 1 },
    destination: { hostname: "2001:db8::6", port: 2 },
    tlvs: [{ type: PROXY_TLV.AUTHORITY, value: utf8("example.com") }],
  }, { checksum: true });
  client.pushWrite("hello\n");
  const [info, line] = await seen.promise;
  assert.deepEqual([info.source?.hostname, info.destination?.port, line], [
    "2001:db8::5",
    2,
    "hello",
  ]);
  client.pushWrite("proxy_v1", { source: info.source, destination: info.destination });
  assert.deepEqual((await server.read("proxy")).source, { hostname: "2001:db8::5", port: 1 });
  client.destroy();
  server.destroy();
  await Promise.all([client.closed, server.closed]);
  listener.close();
});

Deno.test("proxy: a client without a header fails the read with a fatal EBADMSG", async () => {
  const { h, peer, close } = await pair();
  const got = h.read("proxy");
  await writeAll(peer, "GET / HTTP/1.1\r\n");
  await assert.rejects(got, (e) => e instanceof HandleError && e.code === "EBADMSG" && e.fatal);
  await assert.rejects(h.closed, (e) => e instanceof HandleError && e.code === "EBADMSG");
  await close();
});
