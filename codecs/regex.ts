/**
 * The `regex` read type: text up to the end of a match, with AnyEvent::Handle's accept /
 * reject / skip semantics.
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";
import { HandleError } from "../base/errors.ts";
import { byteOffsetOfUnit } from "./_utf8.ts";
import { bufferedTextOf } from "./_buffered_text.ts";
import { regexpCopy } from "./_regexp_copies.ts";
import { type Decoder, NEED_MORE, type NeedMore } from "../base/decoder.ts";
import { DEFAULT_MAX_FRAME_LENGTH, frameLimit } from "./limits.ts";
import { type CodecSettings, defineReadType, type ReadType } from "../base/codec.ts";

/** Options for {@linkcode regexDecoder}. */
export interface RegexOptions {
  /**
   * A pattern that, when `accept` does not match, makes the read fail: the data can never
   * become acceptable (fatal `EBADMSG`, nothing consumed).
   */
  reject?: RegExp;
  /**
   * A pattern whose match marks data that no later match can start in: the search resumes
   * after its end, so a long buffer is not rescanned from the start on every read. The
   * skipped bytes stay in the buffer and are part of the delivered data.
   */
  skip?: RegExp;
  /**
   * The most bytes buffered without a match; more fails with a fatal `EMSGSIZE`, nothing
   * consumed. The default is the handle's `maxFrameLength` if set, else 1 MiB.
   *
   * @default {1048576}
   */
  maxLength?: number;
}

/** What the regex read delivers: the data through the end of the match, and the match. */
export type RegexMatch = readonly [data: string, match: RegExpExecArray];

function checkRegExp(name: string, re: unknown): void {
  if (re !== undefined && !(re instanceof RegExp)) {
    throw new TypeError(`Cannot use ${name} "${String(re)}": expected a RegExp`);
  }
}

const NO_OPTIONS: RegexOptions = Object.freeze({});

/**
 * Makes a decoder that waits until `accept` matches the buffered text (decoded as UTF-8),
 * then consumes and delivers everything from the start of the buffer to the end of the match,
 * with the match itself (capture groups included).
 *
 * As in AnyEvent::Handle, `accept` is not anchored: `/\r\n\r\n/` reads an HTTP header block.
 * If `accept` does not match and `reject` does, the read fails with a fatal `EBADMSG`
 * (AnyEvent reports a non-fatal error and retries on every read, which cannot succeed). Then,
 * if `skip` matches, the next search starts after the end of its match.
 *
 * Cost: each attempt searches the text from the skip position to the end of the buffer, so
 * without `skip` a frame arriving in k pieces costs O(k × frame); `maxLength` bounds it. The
 * buffered bytes are decoded once per read and shared by the regex reads of the handle: the
 * frames of a pipelined burst are each searched from where the last match ended, not decoded
 * again. The match is found on the data buffered so far: a greedy pattern may match
 * differently depending on how the input was split.
 *
 * @param accept The pattern that ends a frame.
 * @param rest AnyEvent's positional `reject` and `skip` patterns (`pushRead("regex", accept,
 * reject, skip, cb)`, either may be `undefined`), then optionally `{ reject, skip, maxLength }`.
 * @returns A decoder of `[data, match]`.
 * @throws {TypeError} If `accept`, `reject` or `skip` is not a RegExp.
 * @throws {RangeError} For a bad `maxLength`.
 *
 * @example An HTTP header block
 * ```ts
 * import { ReadBuffer, regexDecoder } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new TextEncoder().encode("HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"));
 * const result = regexDecoder(/\r\n\r\n/).decode(buf);
 * assert.notEqual(typeof result, "symbol");
 * const [head] = result as readonly [string, RegExpExecArray];
 * assert.equal(head, "HTTP/1.1 200 OK\r\nA: b\r\n\r\n");
 * assert.equal(buf.text(), "body");
 * ```
 */
export function regexDecoder(
  accept: RegExp,
  ...rest: RegexRest
): Decoder<RegexMatch> {
  return makeRegexDecoder(undefined, accept, rest);
}

function makeRegexDecoder(
  settings: CodecSettings | undefined,
  accept: RegExp,
  rest: RegexRest,
): Decoder<RegexMatch> {
  const options = rest.length === 0 ? NO_OPTIONS : regexOptions(rest);
  checkRegExp("accept", accept);
  checkRegExp("reject", options.reject);
  checkRegExp("skip", options.skip);
  const acceptRe = regexpCopy(accept, "g");
  const rejectRe = options.reject && regexpCopy(options.reject, "plain");
  const skipRe = options.skip && regexpCopy(options.skip, "g");
  const maxLength = frameLimit(options.maxLength, DEFAULT_MAX_FRAME_LENGTH, settings);
  let skipAt = 0; // absolute position before which no match can start
  let skipGeneration = 0;

  return {
    decode(buf: ReadBuffer): RegexMatch | NeedMore {
      const base = buf.consumedTotal;
      let from = skipAt - base;
      if (from < 0 || skipGeneration !== buf.generation) {
        from = 0;
        skipGeneration = buf.generation;
      }
      // From the first live byte (no skip in force), the text is the buffer's shared decoding.
      const shared = from === 0 ? bufferedTextOf(buf) : undefined;
      const text = shared !== undefined ? shared.rest(buf) : buf.text(from);
      acceptRe.lastIndex = 0;
      const match = acceptRe.exec(text);
      if (match !== null) {
        const units = match.index + match[0].length;
        skipAt = 0;
        if (shared === undefined) {
          const end = from + byteOffsetOfUnit(buf.view(from), units);
          const data = buf.text(0, end);
          buf.consume(end);
          return [data, match];
        }
        const end = shared.measure(buf, units);
        const data = shared.frame(buf, text, end);
        buf.consume(end.bytes);
        shared.advance(end.bytes, end.units);
        return [data, match];
      }
      if (rejectRe !== undefined) {
        rejectRe.lastIndex = 0; // a sticky pattern's copy is shared
        if (rejectRe.test(text)) {
          throw new HandleError("EBADMSG", `Data matches the reject pattern ${rejectRe}`);
        }
      }
      if (buf.length > maxLength) {
        throw new HandleError(
          "EMSGSIZE",
          `No match within maxLength of ${maxLength} bytes (${buf.length} buffered)`,
        );
      }
      if (skipRe !== undefined) {
        skipRe.lastIndex = 0;
        const skipped = skipRe.exec(text);
        if (skipped !== null) {
          const units = skipped.index + skipped[0].length;
          skipAt = base + from + byteOffsetOfUnit(buf.view(from), units);
        }
      }
      return NEED_MORE;
    },
  };
}

/**
 * What may follow the accept pattern: AnyEvent's positional `reject` and `skip` (either may be
 * `undefined`), then optionally an options object; or the options object alone.
 */
export type RegexRest =
  | []
  | [options: RegexOptions]
  | [reject: RegExp | undefined]
  | [reject: RegExp | undefined, options: RegexOptions]
  | [reject: RegExp | undefined, skip: RegExp | undefined]
  | [reject: RegExp | undefined, skip: RegExp | undefined, options: RegexOptions];

/** Folds the positional `reject` / `skip` of AnyEvent's form into the options. */
function regexOptions(rest: unknown[]): RegexOptions {
  const last = rest[rest.length - 1];
  const hasOptions = last !== undefined && last !== null && !(last instanceof RegExp) &&
    typeof last === "object";
  const options = hasOptions ? { ...(last as RegexOptions) } : {};
  const positional = hasOptions ? rest.slice(0, -1) : rest;
  if (positional.length > 2) {
    throw new TypeError("Cannot read a regex: expected accept[, reject[, skip]][, options]");
  }
  const [reject, skip] = positional as (RegExp | undefined | null)[];
  if (reject != null) options.reject = reject;
  if (skip != null) options.skip = skip;
  return options;
}

/** The type of {@linkcode regex}. */
export type RegexType = ReadType<[accept: RegExp, ...rest: RegexRest], RegexMatch, true>;

/**
 * The `regex` read type: `h.pushRead(regex, accept, [reject, [skip,]] [options,] (h, data,
 * match) => ...)`: everything up to and including the first match of `accept`.
 *
 * @example Reading an HTTP head
 * ```ts
 * import { Handle, regex } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const peer = listener.accept().then(async (conn) => {
 *   await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\nbody"));
 *   return conn;
 * });
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * assert.equal(await h.read(regex, /\r\n\r\n/), "GET / HTTP/1.0\r\n\r\n");
 * h.destroy();
 * (await peer).close();
 * listener.close();
 * ```
 */
export const regex: RegexType = defineReadType(
  "regex",
  (settings, accept: RegExp, ...rest: RegexRest) => makeRegexDecoder(settings, accept, rest),
  { spread: true, maxArgs: 4 },
);
