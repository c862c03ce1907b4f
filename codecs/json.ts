/**
 * The `json` read and write types: one JSON text per read, back to back or separated by
 * whitespace, found by an incremental scanner.
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";
import { HandleError } from "../base/errors.ts";
import { type Decoder, NEED_MORE, type NeedMore } from "../base/decoder.ts";
import { windowText } from "./_ascii_window.ts";
import { DEFAULT_MAX_FRAME_LENGTH, frameLimit } from "./limits.ts";
import {
  type CodecSettings,
  defineCodec,
  defineReadType,
  type ReadType,
  type WriteType,
} from "../base/codec.ts";

/** Options for {@linkcode jsonDecoder}. */
export interface JsonOptions {
  /**
   * The longest JSON text accepted, in bytes (whitespace before it not counted). Longer fails
   * with a fatal `EMSGSIZE` as soon as the scan passes the limit, nothing consumed. The
   * default is the handle's `maxFrameLength` if set, else 1 MiB.
   *
   * @default {1048576}
   */
  maxLength?: number;
  /**
   * Parses one JSON text: a reviver, or a parser that keeps big integers exact. The default is
   * the handle's `json` coder if set, else `JSON.parse`. What it throws is a non-fatal
   * `EBADMSG`, as for invalid JSON.
   *
   * @default {JSON.parse}
   */
  parse?: (text: string) => unknown;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const encoder = new TextEncoder();

/** Kinds of top-level value, by their first byte. */
const NONE = 0;
const CONTAINER = 1;
const STRING = 2;
const SCALAR = 3;
/** Not a JSON value: skipped up to the next whitespace, `{` or `[` once that arrives. */
const GARBAGE = 4;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** Bytes that may continue a number or a literal (`true`, `false`, `null`). */
function isScalarByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) ||
    b === 0x2e || b === 0x2b || b === 0x2d;
}

/**
 * Makes a decoder of one JSON text: it skips whitespace, finds where the value ends with an
 * incremental scanner (bracket depth, strings and escapes), then parses exactly those bytes
 * with `JSON.parse`. `{"a":1}[2]` is two values; so is `1 2`. A number or literal at the top
 * level ends at the first byte that cannot continue it, or at end of input.
 *
 * ```text
 * +-------------+-------------------------------+-------------
 * | whitespace  | one JSON text (any value)     | next text ...
 * | (skipped)   | {"a":[1,"x\ny"]}              |
 * +-------------+-------------------------------+-------------
 * ```
 *
 * Cost: the scanner keeps its state (position, depth, inside-string, escape) across attempts
 * as absolute stream positions, so each byte is examined once however the text was split, and
 * parsed once: linear. Memory: at most `maxLength` bytes are waited for.
 *
 * Errors: invalid JSON (a bracket mismatch found by `JSON.parse`, a bad literal, a stray byte
 * where a value should start) is a non-fatal `EBADMSG`, as in AnyEvent::Handle; the bad text
 * is consumed (skipped) first, so the next read starts after it. A text over `maxLength` is a
 * fatal `EMSGSIZE`. At end of input, trailing whitespace is consumed.
 *
 * @param options The length limit.
 * @param settings The reading handle's settings (its `maxFrameLength` is the default limit,
 * its `json` coder parses).
 * @returns A decoder of the parsed value.
 * @throws {RangeError} For a bad `maxLength`.
 *
 * @example Two texts back to back
 * ```ts
 * import { jsonDecoder, ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new TextEncoder().encode('{"a":1}[2]\n'));
 * const json = jsonDecoder();
 * assert.deepEqual(json.decode(buf), { a: 1 });
 * assert.deepEqual(json.decode(buf), [2]);
 * ```
 */
export function jsonDecoder(
  options: JsonOptions = {},
  settings?: CodecSettings,
): Decoder<unknown> {
  const maxLength = frameLimit(options.maxLength, DEFAULT_MAX_FRAME_LENGTH, settings);
  const parse = options.parse ?? settings?.json?.parse ?? JSON.parse;
  if (typeof parse !== "function") {
    throw new TypeError("Cannot read json: the parse option must be a function");
  }
  let frameAt = -1; // absolute position the scan state belongs to (the buffer's start)
  let generation = 0;
  let scanned = 0; // relative to frameAt
  let start = -1; // relative offset of the value's first byte
  let kind = NONE;
  let depth = 0;
  let inString = false;
  let escaped = false;

  function reset(buf: ReadBuffer): void {
    frameAt = buf.consumedTotal;
    generation = buf.generation;
    scanned = 0;
    start = -1;
    kind = NONE;
    depth = 0;
    inString = false;
    escaped = false;
  }

  /** Scans on from where the last attempt stopped; returns the value's end, or -1. */
  function scan(buf: ReadBuffer, atEof: boolean): number {
    const bytes = buf.bytes();
    const length = bytes.length;
    let i = scanned;
    if (kind === NONE) {
      while (i < length && isSpace(bytes[i])) i++;
      if (i > maxLength) {
        // Whitespace alone past the limit: a peer that never starts a text is not waited for.
        throw new HandleError(
          "EMSGSIZE",
          `JSON text not started after ${i} bytes of whitespace (maxLength ${maxLength} bytes)`,
        );
      }
      if (i === length) {
        scanned = i;
        return -1;
      }
      start = i;
      const b = bytes[i];
      if (b === 0x7b || b === 0x5b) kind = CONTAINER;
      else if (b === QUOTE) kind = STRING;
      else if (b === 0x2d || (b >= 0x30 && b <= 0x39) || b === 0x74 || b === 0x66 || b === 0x6e) {
        kind = SCALAR;
      } else kind = GARBAGE;
      if (kind === CONTAINER || kind === STRING) {
        i++;
        if (kind === CONTAINER) depth = 1;
        else inString = true;
      }
    }
    // The state lives in locals while the loop runs: the closure's variables would be loaded
    // and stored through its context on every byte.
    const k = kind;
    let d = depth;
    let str = inString;
    let esc = escaped;
    let end = -1;
    for (; i < length; i++) {
      if (str) {
        // The inside of a string, in a loop of its own: only a quote or a backslash matters.
        for (; i < length; i++) {
          const c = bytes[i];
          if (esc) esc = false;
          else if (c === BACKSLASH) esc = true;
          else if (c === QUOTE) break;
        }
        if (i === length) break;
        str = false;
        if (k === STRING) {
          end = i + 1;
          break;
        }
        continue;
      }
      const b = bytes[i];
      if (k === SCALAR) {
        if (!isScalarByte(b)) {
          end = i;
          break;
        }
      } else if (k === GARBAGE) {
        // Skipped whole, however it was split: the same bytes make the same one error.
        if (i > start && (isSpace(b) || b === 0x7b || b === 0x5b)) garbage(buf, i);
      } else if (b === QUOTE) str = true;
      else if (b === 0x7b || b === 0x5b) d++;
      else if ((b === 0x7d || b === 0x5d) && --d === 0) {
        end = i + 1;
        break;
      }
    }
    depth = d;
    inString = str;
    escaped = esc;
    if (end >= 0) return end;
    scanned = i;
    if (atEof && kind === SCALAR) return length;
    if (atEof && kind === GARBAGE) garbage(buf, length);
    if (i - start > maxLength) {
      throw new HandleError(
        "EMSGSIZE",
        `JSON text exceeds maxLength of ${maxLength} bytes (${i - start} bytes without its end)`,
      );
    }
    return -1;
  }

  function garbage(buf: ReadBuffer, end: number): never {
    const first = String.fromCharCode(buf.at(start)!);
    badText(buf, start, end, `Unexpected ${JSON.stringify(first)} where a JSON value should start`);
  }

  function badText(buf: ReadBuffer, from: number, end: number, why: string): never {
    const text = buf.text(from, Math.min(end, from + 40));
    buf.consume(end);
    reset(buf);
    throw new HandleError("EBADMSG", `Invalid JSON text ${JSON.stringify(text)}: ${why}`, {
      fatal: false,
    });
  }

  function take(buf: ReadBuffer, end: number): unknown {
    if (end - start > maxLength) {
      throw new HandleError(
        "EMSGSIZE",
        `JSON text of ${end - start} bytes exceeds maxLength of ${maxLength} bytes`,
      );
    }
    const text = windowText(buf, start, end);
    let value: unknown;
    try {
      value = parse(text);
    } catch (e) {
      badText(buf, start, end, e instanceof Error ? e.message : String(e));
    }
    buf.consume(end);
    reset(buf);
    return value;
  }

  function attempt(buf: ReadBuffer, atEof: boolean): unknown {
    if (frameAt !== buf.consumedTotal || generation !== buf.generation) reset(buf);
    const end = scan(buf, atEof);
    return end < 0 ? NEED_MORE : take(buf, end);
  }

  return {
    decode(buf: ReadBuffer): unknown | NeedMore {
      return attempt(buf, false);
    },
    decodeEof(buf: ReadBuffer): unknown | NeedMore {
      const value = attempt(buf, true);
      // Nothing but whitespace left: it is padding, not a truncated text.
      if (value === NEED_MORE && kind === NONE) {
        buf.consume(buf.length);
        reset(buf);
      }
      return value;
    },
  };
}

/**
 * Encodes a value as a JSON text (UTF-8, no newline added, as AnyEvent::Handle; append
 * `"\n"` yourself for line-oriented peers).
 *
 * @param value Any value `JSON.stringify` accepts.
 * @param settings The writing handle's settings (its `json` coder, if any, stringifies).
 * @returns The JSON text as bytes.
 * @throws {TypeError} If the value has no JSON form (`undefined`, a function, a BigInt, a
 * cycle).
 *
 * @example Encoding a value
 * ```ts
 * import { encodeJson } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new TextDecoder().decode(encodeJson({ a: [1, "x\ny"] })), '{"a":[1,"x\\ny"]}');
 * ```
 */
export function encodeJson(value: unknown, settings?: CodecSettings): Uint8Array {
  const stringify = settings?.json?.stringify ?? JSON.stringify;
  const text = stringify(value);
  if (typeof text !== "string") {
    throw new TypeError(`Cannot encode ${typeof value} as JSON`);
  }
  return encoder.encode(text);
}

/** The type of {@linkcode json}. */
export type JsonType =
  & ReadType<[] | [options: JsonOptions], unknown, false>
  & WriteType<[value: unknown]>;

/**
 * The `json` read and write type: `h.pushRead(json, [options,] (h, value) => ...)` reads one
 * JSON text; `h.pushWrite(json, value)` writes one (no newline added). Both use the handle's
 * `json` coder when it has one.
 *
 * @example A JSON round trip
 * ```ts
 * import { Handle, json } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepted = listener.accept();
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * const peer = new Handle(await accepted);
 * h.pushWrite(json, { ok: true });
 * assert.deepEqual(await peer.read(json), { ok: true });
 * h.destroy();
 * peer.destroy();
 * listener.close();
 * ```
 */
export const json: JsonType = defineCodec(
  defineReadType(
    "json",
    (settings, options?: JsonOptions) => jsonDecoder(options, settings),
    { maxArgs: 1 },
  ),
  (settings, value: unknown) => encodeJson(value, settings),
  { maxArgs: 1 },
);
