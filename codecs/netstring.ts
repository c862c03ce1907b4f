/**
 * The `netstring` read and write types: `<decimal length>:<bytes>,` (D. J. Bernstein's
 * netstrings, as AnyEvent::Handle speaks them).
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

/** Options for {@linkcode netstringDecoder}. */
export interface NetstringOptions {
  /**
   * The longest payload accepted, in bytes. A longer announced length fails with a fatal
   * `EMSGSIZE` as soon as the header is read, before any payload is buffered; even the
   * header is at most as many digits as `maxLength` has. The default is the handle's
   * `maxFrameLength` if set, else 1 MiB.
   *
   * @default {1048576}
   */
  maxLength?: number;
}

const COLON = 0x3a;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;
const encoder = new TextEncoder();

function badMessage(message: string): HandleError {
  return new HandleError("EBADMSG", message);
}

/**
 * Makes a decoder of one netstring; the payload is delivered as an owned `Uint8Array` (decode
 * it with `TextDecoder` for text).
 *
 * ```text
 * +----------------+---+---------------------+---+
 * | length (ASCII  | : | payload             | , |
 * | decimal, no    |   | (length bytes, any  |   |
 * | leading zero)  |   |  values)            |   |
 * +----------------+---+---------------------+---+
 *   "5"             ":"  "hello"               ","
 * ```
 *
 * The header is parsed once and remembered (as an absolute stream position, so another reader
 * consuming bytes in front resets it); then the decoder waits for payload and comma. O(1) per
 * attempt after the header; at most `maxLength` + header + 1 bytes are ever waited for.
 *
 * Errors, all fatal and with nothing consumed: a non-digit in the length, a leading zero, an
 * empty length, or a missing `:` → `EBADMSG`; a length over `maxLength` (or more digits than it
 * has) → `EMSGSIZE`; a byte other than `,` after the payload → `EBADMSG`. (AnyEvent::Handle
 * reports these as non-fatal and leaves the reader queued, where it fails again on every read;
 * a stream with a broken frame cannot be resynchronised, so here they are fatal.)
 *
 * @param options The length limit.
 * @param settings The reading handle's settings (its `maxFrameLength` is the default limit).
 * @returns A decoder of `Uint8Array`.
 * @throws {RangeError} If `maxLength` is not a positive integer or `Infinity`.
 *
 * @example Decoding netstrings
 * ```ts
 * import { netstringDecoder, ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new TextEncoder().encode("5:hello,0:,"));
 * const netstring = netstringDecoder();
 * assert.deepEqual(netstring.decode(buf), new TextEncoder().encode("hello"));
 * assert.deepEqual(netstring.decode(buf), new Uint8Array());
 * assert.equal(buf.length, 0);
 * ```
 */
export function netstringDecoder(
  options: NetstringOptions = {},
  settings?: CodecSettings,
): Decoder<Uint8Array> {
  const maxLength = frameLimit(options.maxLength, DEFAULT_MAX_FRAME_LENGTH, settings);
  const maxDigits = maxLength === Infinity ? 16 : String(maxLength).length;
  let headerAt = -1; // absolute position of the frame whose header is parsed
  let headerGeneration = 0;
  let headerLength = 0;
  let payloadLength = 0;

  function parseHeader(buf: ReadBuffer): boolean {
    const length = buf.length;
    let value = 0;
    let i = 0;
    for (; i < length; i++) {
      const b = buf.at(i)!;
      if (b === COLON) break;
      if (b < ZERO || b > NINE) {
        const seen = new TextDecoder().decode(buf.view(0, Math.min(i + 1, maxDigits + 1)));
        throw badMessage(`Cannot parse netstring length ${JSON.stringify(seen)}`);
      }
      if (i >= maxDigits) {
        throw new HandleError(
          "EMSGSIZE",
          `Netstring length has more than ${maxDigits} digits (maxLength is ${maxLength})`,
        );
      }
      value = value * 10 + (b - ZERO);
    }
    if (i === length) return false;
    if (i === 0) throw badMessage("Cannot parse netstring length: it is empty");
    if (i > 1 && buf.at(0) === ZERO) {
      throw badMessage(`Cannot parse netstring length "${buf.text(0, i)}": leading zero`);
    }
    if (value > maxLength) {
      throw new HandleError(
        "EMSGSIZE",
        `Netstring of ${value} bytes exceeds maxLength of ${maxLength} bytes`,
      );
    }
    headerAt = buf.consumedTotal;
    headerGeneration = buf.generation;
    headerLength = i + 1;
    payloadLength = value;
    return true;
  }

  return {
    decode(buf: ReadBuffer): Uint8Array | NeedMore {
      if (headerAt !== buf.consumedTotal || headerGeneration !== buf.generation) {
        headerAt = -1;
        if (!parseHeader(buf)) return NEED_MORE;
      }
      const end = headerLength + payloadLength;
      if (buf.length <= end) return NEED_MORE;
      if (buf.at(end) !== COMMA) {
        throw badMessage(
          `Netstring of ${payloadLength} bytes is not followed by "," (got byte ${buf.at(end)})`,
        );
      }
      buf.consume(headerLength);
      const payload = buf.take(payloadLength);
      buf.consume(1);
      headerAt = -1;
      return payload;
    },
  };
}

/**
 * Encodes one netstring.
 *
 * @param data The payload: bytes, or a string encoded as UTF-8.
 * @returns `<length>:<payload>,` as bytes.
 * @throws {TypeError} If `data` is neither a string nor a `Uint8Array`.
 *
 * @example Encoding a netstring
 * ```ts
 * import { encodeNetstring } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new TextDecoder().decode(encodeNetstring("hello")), "5:hello,");
 * assert.equal(new TextDecoder().decode(encodeNetstring("")), "0:,");
 * ```
 */
export function encodeNetstring(data: string | Uint8Array): Uint8Array {
  const payload = typeof data === "string" ? encoder.encode(data) : data;
  if (!(payload instanceof Uint8Array)) {
    throw new TypeError("Cannot encode a netstring: expected a string or a Uint8Array");
  }
  const header = encoder.encode(`${payload.length}:`);
  const out = new Uint8Array(header.length + payload.length + 1);
  out.set(header);
  out.set(payload, header.length);
  out[out.length - 1] = COMMA;
  return out;
}

/** The type of {@linkcode netstring}. */
export type NetstringType =
  & ReadType<[] | [options: NetstringOptions], Uint8Array, false>
  & WriteType<[data: string | Uint8Array]>;

/**
 * The `netstring` read and write type: `h.pushRead(netstring, [options,] (h, payload) =>
 * ...)` reads one netstring's payload as bytes; `h.pushWrite(netstring, data)` writes
 * `<length>:<data>,`.
 *
 * @example A netstring round trip
 * ```ts
 * import { Handle, netstring } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepted = listener.accept();
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * const peer = new Handle(await accepted);
 * h.pushWrite(netstring, "hello");
 * const payload = await peer.read(netstring({ maxLength: 10 }));
 * assert.equal(new TextDecoder().decode(payload), "hello");
 * h.destroy();
 * peer.destroy();
 * listener.close();
 * ```
 */
export const netstring: NetstringType = defineCodec(
  defineReadType(
    "netstring",
    (settings, options?: NetstringOptions) => netstringDecoder(options, settings),
    { maxArgs: 1 },
  ),
  (_settings, data: string | Uint8Array) => encodeNetstring(data),
  { maxArgs: 1 },
);
