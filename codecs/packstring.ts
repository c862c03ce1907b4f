/**
 * The `packstring` read and write types: a length prefix in Perl `pack` notation, then that
 * many bytes (AnyEvent::Handle's `packstring`, e.g. `n` for DNS over TCP, `N` for EPP, `w`
 * for BER).
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";
import { HandleError } from "../base/errors.ts";
import { type Decoder, NEED_MORE, type NeedMore } from "../base/decoder.ts";
import { DEFAULT_MAX_FRAME_LENGTH, frameLimit } from "./limits.ts";
import {
  type CodecSettings,
  defineCodec,
  defineReadType,
  type ReadType,
  type WriteType,
} from "../base/codec.ts";

/** Options for {@linkcode packstringDecoder}. */
export interface PackstringOptions {
  /**
   * The longest payload accepted, in bytes. A longer announced length fails with a fatal
   * `EMSGSIZE` as soon as the prefix is read, without waiting for the payload. The default is
   * the handle's `maxFrameLength` if set, else 1 MiB.
   *
   * @default {1048576}
   */
  maxLength?: number;
}

/** A parsed `pack` integer format. */
interface PrefixFormat {
  /** The format as given, for messages. */
  readonly name: string;
  /** Bytes of a fixed-width prefix; 0 for BER (`w`). */
  readonly width: number;
  readonly littleEndian: boolean;
  readonly signed: boolean;
}

const encoder = new TextEncoder();

/**
 * Parses a Perl pack integer code: `C c n N v V w`, `s S l L i I` with an optional `!`, and
 * `s S l L i I q Q j J` with an optional `<` (little-endian) or `>` (big-endian). Without `<`/`>` the native
 * order of a 64-bit x86 or ARM Perl is used: little-endian. `l!`/`L!` are 8 bytes (64-bit
 * `long`), `s!`/`i!` as without `!`.
 */
function parseFormat(format: string): PrefixFormat {
  const m = /^(?:([CcnNvVw])|([sSlLiI])(!?)([<>]?)|([qQjJ])()([<>]?))$/.exec(format);
  if (m === null) {
    throw new RangeError(
      `Cannot use packstring format "${format}": expected one of C c n N v V w, or s S l L q Q j J i I with optional ! < >`,
    );
  }
  const code = m[1] ?? m[2] ?? m[5];
  const bang = m[3] ?? "";
  const order = m[4] ?? m[7] ?? "";
  const widths: Record<string, number> = { C: 1, c: 1, n: 2, N: 4, v: 2, V: 4, w: 0 };
  let width = widths[code];
  let littleEndian = order !== ">";
  if (code === "n" || code === "N") littleEndian = false;
  if (width === undefined) {
    const lower = code.toLowerCase();
    width = lower === "s" ? 2 : lower === "l" ? (bang ? 8 : 4) : lower === "i" ? 4 : 8;
  }
  const signed = code === code.toLowerCase() && "cslqji".includes(code);
  return { name: format, width, littleEndian, signed };
}

function tooLong(length: number | bigint, maxLength: number, format: string): HandleError {
  return new HandleError(
    "EMSGSIZE",
    `Packstring ("${format}") of ${length} bytes exceeds maxLength of ${maxLength} bytes`,
  );
}

/** Reads a fixed-width prefix at the buffer's start as a non-negative number. */
function readFixed(buf: ReadBuffer, f: PrefixFormat, maxLength: number): number {
  let value = 0n;
  for (let i = 0; i < f.width; i++) {
    const b = BigInt(buf.at(f.littleEndian ? f.width - 1 - i : i)!);
    value = (value << 8n) | b;
  }
  if (f.signed && value >= 1n << BigInt(f.width * 8 - 1)) {
    value -= 1n << BigInt(f.width * 8);
    throw new HandleError(
      "EBADMSG",
      `Packstring ("${f.name}") announces a negative length ${value}`,
    );
  }
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || Number(value) > maxLength) {
    throw tooLong(value, maxLength, f.name);
  }
  return Number(value);
}

/**
 * Makes a decoder of one packstring: a length prefix in Perl `pack` notation, then that many
 * bytes, delivered as an owned `Uint8Array`.
 *
 * ```text
 * +------------------+------------------------+
 * | length prefix    | payload (length bytes) |
 * | ("N": 4 bytes BE)|                        |
 * +------------------+------------------------+
 *   00 00 00 05        h  e  l  l  o
 * ```
 *
 * Formats: `C` (1 byte), `n`/`v` (16-bit big/little-endian), `N`/`V` (32-bit), `w` (BER
 * compressed integer: 7 bits per byte, high bit set on all but the last), `Q>`/`Q<` (64-bit),
 * and `c s S l L q Q j J i I` with optional `!`, `<`, `>` (native order is little-endian).
 *
 * The prefix is parsed once per attempt (a few bytes); a length over `maxLength` fails with a
 * fatal `EMSGSIZE` as soon as the prefix is complete (for `w`, as soon as the bytes so far
 * exceed it), and a negative length in a signed format with a fatal `EBADMSG`; nothing is
 * consumed on error. Memory: at most the prefix plus `maxLength` bytes are waited for.
 *
 * @param format The pack code of the length prefix.
 * @param options The length limit.
 * @param settings The reading handle's settings (its `maxFrameLength` is the default limit).
 * @returns A decoder of `Uint8Array`.
 * @throws {RangeError} For an unsupported format or a bad `maxLength`.
 *
 * @example A 16-bit big-endian length (DNS over TCP)
 * ```ts
 * import { packstringDecoder, ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new Uint8Array([0x00, 0x02, 0x61, 0x62, 0x01]));
 * assert.deepEqual(packstringDecoder("n").decode(buf), new Uint8Array([0x61, 0x62]));
 * assert.equal(buf.length, 1);
 * ```
 */
export function packstringDecoder(
  format: string,
  options: PackstringOptions = {},
  settings?: CodecSettings,
): Decoder<Uint8Array> {
  const f = parseFormat(format);
  const maxLength = frameLimit(options.maxLength, DEFAULT_MAX_FRAME_LENGTH, settings);
  // BER bytes any length up to maxLength takes (7 bits each); 8 cover every safe integer.
  const maxBerBytes = maxLength === Infinity
    ? 8
    : Math.max(1, Math.ceil(Math.log2(maxLength + 1) / 7));
  return {
    decode(buf: ReadBuffer): Uint8Array | NeedMore {
      let prefix: number;
      let length: number;
      if (f.width > 0) {
        if (buf.length < f.width) return NEED_MORE;
        prefix = f.width;
        length = readFixed(buf, f, maxLength);
      } else {
        let value = 0;
        let i = 0;
        for (;; i++) {
          if (i >= buf.length) return NEED_MORE;
          const b = buf.at(i)!;
          value = value * 128 + (b & 0x7f);
          if (value > maxLength) tooLongBer(buf, i, value, maxLength, f.name);
          if (b < 0x80) break;
          // Redundant 0x80 groups add nothing: a prefix longer than any length up to maxLength
          // needs is refused (else a peer could keep it growing, rescanned on every read).
          if (i + 1 >= maxBerBytes) {
            throw new HandleError(
              "EMSGSIZE",
              `Packstring ("${f.name}") length prefix exceeds ${maxBerBytes} bytes (maxLength ${maxLength})`,
            );
          }
        }
        prefix = i + 1;
        length = value;
      }
      if (buf.length < prefix + length) return NEED_MORE;
      buf.consume(prefix);
      return buf.take(length);
    },
  };
}

/** A BER length already over the limit: fail now, whatever bytes follow. */
function tooLongBer(buf: ReadBuffer, i: number, value: number, max: number, name: string): never {
  const more = buf.at(i)! >= 0x80 ? " or more" : "";
  throw new HandleError(
    "EMSGSIZE",
    `Packstring ("${name}") of ${value}${more} bytes exceeds maxLength of ${max} bytes`,
  );
}

/**
 * Encodes one packstring: the payload's length in `format`, then the payload.
 *
 * @param format The pack code of the length prefix (see {@linkcode packstringDecoder}).
 * @param data The payload: bytes, or a string encoded as UTF-8.
 * @returns The prefix and the payload.
 * @throws {RangeError} For an unsupported format.
 * @throws {HandleError} `EMSGSIZE` (not fatal: nothing was queued) if the length does not fit
 * the format (over 255 for `C`, 65535 for `n`, ...).
 *
 * @example Encoding with a BER length
 * ```ts
 * import { encodePackstring } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(encodePackstring("w", "c"), new Uint8Array([0x01, 0x63]));
 * assert.deepEqual(encodePackstring("n", "ab"), new Uint8Array([0x00, 0x02, 0x61, 0x62]));
 * ```
 */
export function encodePackstring(format: string, data: string | Uint8Array): Uint8Array {
  const f = parseFormat(format);
  const payload = typeof data === "string" ? encoder.encode(data) : data;
  if (!(payload instanceof Uint8Array)) {
    throw new TypeError("Cannot encode a packstring: expected a string or a Uint8Array");
  }
  const n = payload.length;
  let prefix: Uint8Array;
  if (f.width === 0) {
    const groups = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) {
      groups.unshift((v & 0x7f) | 0x80);
    }
    prefix = new Uint8Array(groups);
  } else {
    const bits = f.width * 8 - (f.signed ? 1 : 0);
    if (bits < 53 && n >= 2 ** bits) {
      throw new HandleError(
        "EMSGSIZE",
        `Cannot encode ${n} bytes as a packstring with format "${format}": at most ${
          2 ** bits - 1
        }`,
        { fatal: false },
      );
    }
    prefix = new Uint8Array(f.width);
    let v = BigInt(n);
    for (let i = 0; i < f.width; i++) {
      prefix[f.littleEndian ? i : f.width - 1 - i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  const out = new Uint8Array(prefix.length + n);
  out.set(prefix);
  out.set(payload, prefix.length);
  return out;
}

/** The type of {@linkcode packstring}. */
export type PackstringType =
  & ReadType<[format: string] | [format: string, options: PackstringOptions], Uint8Array, false>
  & WriteType<[format: string, data: string | Uint8Array]>;

/**
 * The `packstring` read and write type: `h.pushRead(packstring, format, [options,] (h,
 * payload) => ...)` reads a payload after a Perl pack-format length (`C`, `n`, `N`, `w`, ...);
 * `h.pushWrite(packstring, format, data)` writes one.
 *
 * @example A packstring round trip
 * ```ts
 * import { Handle, packstring } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepted = listener.accept();
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * const peer = new Handle(await accepted);
 * h.pushWrite(packstring, "N", "hello");
 * assert.equal(new TextDecoder().decode(await peer.read(packstring, "N")), "hello");
 * h.destroy();
 * peer.destroy();
 * listener.close();
 * ```
 */
export const packstring: PackstringType = defineCodec(
  defineReadType(
    "packstring",
    (settings, format: string, options?: PackstringOptions) =>
      packstringDecoder(format, options, settings),
    { maxArgs: 2 },
  ),
  (_settings, format: string, data: string | Uint8Array) => encodePackstring(format, data),
  { maxArgs: 2 },
);
