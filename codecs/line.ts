/**
 * The `line` read type: text up to an end-of-line marker.
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";
import { HandleError } from "../base/errors.ts";
import { markerWindowOf, type TextWindow, textWindowOf } from "./_text_window.ts";
import { byteOffsetOfUnit } from "./_utf8.ts";
import { bufferedTextOf } from "./_buffered_text.ts";
import { regexpCopy } from "./_regexp_copies.ts";
import { type Decoder, NEED_MORE, type NeedMore } from "../base/decoder.ts";
import { DEFAULT_MAX_FRAME_LENGTH, frameLimit } from "./limits.ts";
import { type CodecSettings, defineReadType, type ReadType } from "../base/codec.ts";

/** The default `maxLength` of a line: 1 MiB (unless the handle sets `maxFrameLength`). */
export const DEFAULT_MAX_LINE_LENGTH: number = DEFAULT_MAX_FRAME_LENGTH;

/** Options for {@linkcode lineDecoder}. */
export interface LineOptions {
  /**
   * The end-of-line marker: a literal string, or a RegExp whose first (leftmost) match ends the
   * line. By default a line ends at LF, and one CR right before the LF is part of the marker
   * (`"\r\n"`); a lone CR stays in the line, as in AnyEvent::Handle.
   *
   * @default {undefined}
   */
  eol?: string | RegExp;
  /**
   * The longest line accepted, in bytes, not counting the marker. A longer line fails with a
   * fatal `EMSGSIZE` as soon as that is certain, with nothing consumed. `Infinity` turns the
   * limit off (then only the handle's `rbufMax` bounds memory). The default is the handle's
   * `maxFrameLength` if set, else 1 MiB.
   *
   * @default {1048576}
   */
  maxLength?: number;
  /**
   * Recovery mode for over-long lines (not with a RegExp marker): instead of a fatal error,
   * the line is skipped through its end-of-line marker, a non-fatal `EMSGSIZE` is reported
   * (a promise read rejects with it), and reading continues with the next line. Bytes of the
   * skipped line are consumed as they arrive, so memory stays bounded.
   *
   * @default {false}
   */
  discard?: boolean;
}

/** A decoded line and the marker that ended it. */
export type Line = readonly [line: string, eol: string];

/**
 * A decoder of lines ({@linkcode lineDecoder}): `decode` gives `[line, eol]`, and
 * `decodeFirst` the line alone, with `lastSecond()` its marker, so a loop over many lines
 * makes no tuple per line.
 *
 * @example Lines without tuples, in `onRead`
 * ```ts
 * import { lineDecoder, NEED_MORE, ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new TextEncoder().encode("a\r\nb\nrest"));
 * const lines = lineDecoder();
 * const seen: string[] = [];
 * for (let l; (l = lines.decodeFirst(buf)) !== NEED_MORE;) seen.push(l + lines.lastSecond());
 * assert.deepEqual(seen, ["a\r\n", "b\n"]);
 * ```
 */
export interface LineDecoder extends Decoder<Line> {
  /**
   * Decodes one line as `decode` does (the same bytes consumed, the same errors) and returns
   * the line alone.
   *
   * @param buf The handle's read buffer.
   * @returns The line, or `NEED_MORE` with nothing consumed.
   */
  decodeFirst(buf: ReadBuffer): string | NeedMore;
  /**
   * The marker of the line `decodeFirst` last returned.
   *
   * @returns The marker (`"\n"` or `"\r\n"` by default).
   */
  lastSecond(): string;
}

const LF = 0x0a;
/** How far past `maxLength` a RegExp marker may reach. */
const REGEXP_EOL_ALLOWANCE = 1024;
const CR = 0x0d;
const encoder = new TextEncoder();
const LF_BYTES = new Uint8Array([LF]);

function tooLong(maxLength: number, seen: number): HandleError {
  return new HandleError(
    "EMSGSIZE",
    `Line exceeds maxLength of ${maxLength} bytes (${seen} bytes without an end of line)`,
  );
}

/**
 * LF with an optional CR before it: the hot path. The first search resumes where the previous
 * attempt stopped; once a line feed is found, a run of complete lines is decoded at once into
 * the buffer's {@linkcode TextWindow}, and the following lines are cut from that text.
 */
export class LfLineDecoder implements LineDecoder {
  #maxLength: number;
  #scanFrom = 0;
  #generation = 0;
  #buf: ReadBuffer | undefined;
  #window: TextWindow | undefined;
  /** The marker of the line `decodeFirst` last cut. */
  #eol = "\n";

  constructor(maxLength: number) {
    this.#maxLength = maxLength;
  }

  decode(buf: ReadBuffer): Line | NeedMore {
    const line = this.decodeFirst(buf);
    return line === NEED_MORE ? line : [line, this.#eol];
  }

  /** The marker of the line `decodeFirst` last cut. */
  lastSecond(): string {
    return this.#eol;
  }

  /**
   * The line alone, its marker left for `lastSecond`: what `read` and `iterate` deliver, and
   * with `lastSecond` what a callback gets.
   */
  decodeFirst(buf: ReadBuffer): string | NeedMore {
    if (buf.length === 0) return NEED_MORE; // an idle read makes no text window yet
    if (this.#buf !== buf) {
      this.#buf = buf;
      this.#window = textWindowOf(buf);
    }
    const window = this.#window!;
    if (!window.covers(buf)) {
      const base = buf.consumedTotal;
      let from = this.#scanFrom - base;
      if (from < 0 || this.#generation !== buf.generation) {
        from = 0;
        this.#generation = buf.generation;
      }
      const lf = buf.indexOf(LF, from);
      if (lf < 0) {
        const length = buf.length;
        if (length >= this.#maxLength + 2) throw tooLong(this.#maxLength, length);
        this.#scanFrom = base + length;
        return NEED_MORE;
      }
      window.fill(buf, lf);
    }
    return this.#next(buf, window);
  }

  /**
   * Cuts the lines left in the window into `into` while its text is one code unit a byte,
   * stopping before a line over `maxLength` (the next `decodeFirst` fails on it): the `lines`
   * type's run, one slice a line with the bookkeeping done once.
   */
  cutRun(buf: ReadBuffer, into: string[]): void {
    const window = this.#window;
    if (window === undefined || !window.identity || !window.covers(buf)) return;
    const text = window.text;
    const start = window.textPos;
    const maxLength = this.#maxLength;
    let from = start;
    for (let at; (at = text.indexOf("\n", from)) >= 0; from = at + 1) {
      const cr = at > from && text.charCodeAt(at - 1) === CR;
      const end = cr ? at - 1 : at;
      if (end - from > maxLength) break;
      into.push(text.slice(from, end));
    }
    buf.consume(from - start);
    window.advance(from - start, from - start);
  }

  /** Cuts the next line from the window. */
  #next(buf: ReadBuffer, window: TextWindow): string {
    const text = window.text;
    const from = window.textPos;
    const at = text.indexOf("\n", from);
    const lf = window.identity ? at - from : buf.indexOf(LF, 0, window.end - window.pos);
    let end = at;
    let eol = "\n";
    if (at > from && text.charCodeAt(at - 1) === CR) {
      end = at - 1;
      eol = "\r\n";
    }
    const lineBytes = eol === "\n" ? lf : lf - 1;
    if (lineBytes > this.#maxLength) throw tooLong(this.#maxLength, lineBytes);
    buf.consume(lf + 1);
    window.advance(lf + 1, at + 1 - from);
    this.#eol = eol;
    return text.slice(from, end);
  }
}

/**
 * A literal marker: resumes the search `eol.length - 1` bytes before where it stopped. Lines
 * are cut from a decoded run of the buffer (the {@linkcode TextWindow} its string-marker
 * decoders share), not decoded one by one.
 */
export class StringLineDecoder implements LineDecoder {
  #eol: string;
  #needle: number | Uint8Array;
  #eolLength: number;
  #maxLength: number;
  #scanFrom = 0;
  #generation = 0;
  /**
   * Whether lines are cut from the buffer's decoded run: when the marker is well-formed text
   * without U+FFFD, its first occurrence in the text is exactly that of its bytes.
   */
  #windowed: boolean;

  constructor(eol: string, maxLength: number) {
    const bytes = encoder.encode(eol);
    this.#eol = eol;
    this.#needle = bytes.length === 1 ? bytes[0] : bytes;
    this.#eolLength = bytes.length;
    this.#maxLength = maxLength;
    this.#windowed = eol.isWellFormed() && !eol.includes("\ufffd");
  }

  decode(buf: ReadBuffer): Line | NeedMore {
    const line = this.decodeFirst(buf);
    return line === NEED_MORE ? line : [line, this.#eol];
  }

  /** The marker, which ends every line. */
  lastSecond(): string {
    return this.#eol;
  }

  /** The line alone, for `read`, `iterate` and (with `lastSecond`) callbacks. */
  decodeFirst(buf: ReadBuffer): string | NeedMore {
    if (this.#eolLength === 0) return "";
    const base = buf.consumedTotal;
    let from = this.#scanFrom - base - (this.#eolLength - 1);
    if (from < 0 || this.#generation !== buf.generation) {
      from = 0;
      this.#generation = buf.generation;
    }
    const at = buf.indexOf(this.#needle, from);
    if (at < 0) {
      const length = buf.length;
      if (length >= this.#maxLength + this.#eolLength) throw tooLong(this.#maxLength, length);
      this.#scanFrom = base + length;
      return NEED_MORE;
    }
    if (at > this.#maxLength) throw tooLong(this.#maxLength, at);
    const line = this.#windowed ? this.#cut(buf, markerWindowOf(buf), at) : buf.text(0, at);
    buf.consume(at + this.#eolLength);
    return line;
  }

  /**
   * Cuts the lines whose markers lie in the buffer's marker window into `into` while its text
   * is one code unit a byte, stopping before a line over `maxLength` (the next `decode` fails
   * on it): the `lines` type's run, one search and one slice a line.
   */
  cutRun(buf: ReadBuffer, into: string[]): void {
    if (!this.#windowed || this.#eolLength === 0) return;
    const window = markerWindowOf(buf);
    if (!window.identity || !window.covers(buf)) return;
    const text = window.text;
    const eol = this.#eol;
    const maxLength = this.#maxLength;
    const start = window.textPos;
    let from = start;
    for (let at; (at = text.indexOf(eol, from)) >= 0; from = at + eol.length) {
      if (at - from > maxLength) break;
      into.push(text.slice(from, at));
    }
    buf.consume(from - start);
    window.advance(from - start, from - start);
  }

  /** The text of the line of `at` bytes, from the window (filled first if it does not hold it). */
  #cut(buf: ReadBuffer, window: TextWindow, at: number): string {
    const next = at + this.#eolLength;
    if (!window.covers(buf) || buf.consumedTotal + next > window.end) {
      window.fillThrough(buf, next);
    }
    const text = window.text;
    const from = window.textPos;
    const units = window.identity ? at : text.indexOf(this.#eol, from) - from;
    window.advance(next, units + this.#eol.length);
    return text.slice(from, from + units);
  }
}

/**
 * Wraps a line decoder so that an over-long line is skipped through its marker (tokio's and
 * Netty's discard mode). It consumes bytes while it returns `NEED_MORE` (`skips`).
 */
class DiscardingLineDecoder implements LineDecoder {
  readonly skips = true;
  #inner: LineDecoder;
  #needle: number | Uint8Array;
  #keep: number;
  #discarding = false;

  constructor(inner: LineDecoder, eol: Uint8Array) {
    this.#inner = inner;
    this.#needle = eol.length === 1 ? eol[0] : eol;
    this.#keep = eol.length - 1; // a marker split across reads must still be found
  }

  decode(buf: ReadBuffer): Line | NeedMore {
    const line = this.decodeFirst(buf);
    return line === NEED_MORE ? line : [line, this.#inner.lastSecond()];
  }

  lastSecond(): string {
    return this.#inner.lastSecond();
  }

  decodeFirst(buf: ReadBuffer): string | NeedMore {
    if (this.#discarding) {
      if (!this.#skipLine(buf)) return NEED_MORE;
      this.#discarding = false;
    }
    try {
      return this.#inner.decodeFirst(buf);
    } catch (e) {
      if (!(e instanceof HandleError) || e.code !== "EMSGSIZE") throw e;
      this.#discarding = !this.#skipLine(buf);
      throw new HandleError("EMSGSIZE", `${e.message}; the line is skipped`, { fatal: false });
    }
  }

  finishSkip(buf: ReadBuffer): boolean {
    if (this.#discarding && this.#skipLine(buf)) this.#discarding = false;
    return !this.#discarding;
  }

  /** Consumes through the next marker (true), or all but a possible marker prefix (false). */
  #skipLine(buf: ReadBuffer): boolean {
    const at = buf.indexOf(this.#needle);
    if (at >= 0) {
      buf.consume(at + this.#keep + 1);
      return true;
    }
    buf.consume(Math.max(0, buf.length - this.#keep));
    return false;
  }
}

/**
 * A RegExp marker: matched against the decoded text of the whole buffer, which the handle's
 * text decoders share, so the lines of one read are searched one after the other in one
 * decoding (see `BufferedText`).
 */
class RegExpLineDecoder implements LineDecoder {
  #eol: RegExp;
  #maxLength: number;
  /** The marker the last line ended with. */
  #marker = "";

  constructor(eol: RegExp, maxLength: number) {
    this.#eol = regexpCopy(eol, "g");
    this.#maxLength = maxLength;
  }

  decode(buf: ReadBuffer): Line | NeedMore {
    const line = this.decodeFirst(buf);
    return line === NEED_MORE ? line : [line, this.#marker];
  }

  lastSecond(): string {
    return this.#marker;
  }

  decodeFirst(buf: ReadBuffer): string | NeedMore {
    const limit = this.#maxLength + REGEXP_EOL_ALLOWANCE;
    if (buf.length > limit) return this.#decodeLimited(buf, limit);
    const shared = bufferedTextOf(buf);
    const text = shared.rest(buf);
    this.#eol.lastIndex = 0;
    const match = this.#eol.exec(text);
    if (match === null) {
      if (buf.length >= limit) throw tooLong(this.#maxLength, buf.length);
      return NEED_MORE;
    }
    const start = shared.measure(buf, match.index);
    if (start.bytes > this.#maxLength) throw tooLong(this.#maxLength, start.bytes);
    const end = shared.measure(buf, match.index + match[0].length);
    const line = shared.frame(buf, text, start);
    buf.consume(end.bytes);
    shared.advance(end.bytes, end.units);
    this.#marker = match[0];
    return line;
  }

  /** More is buffered than a line and its marker may take: only that much is searched. */
  #decodeLimited(buf: ReadBuffer, limit: number): string {
    const text = buf.text(0, limit);
    this.#eol.lastIndex = 0;
    const match = this.#eol.exec(text);
    if (match === null) throw tooLong(this.#maxLength, buf.length);
    const view = buf.view(0, limit);
    const start = byteOffsetOfUnit(view, match.index);
    if (start > this.#maxLength) throw tooLong(this.#maxLength, start);
    const end = start + byteOffsetOfUnit(view.subarray(start), match[0].length);
    const line = text.slice(0, match.index);
    buf.consume(end);
    this.#marker = match[0];
    return line;
  }
}

/**
 * Makes a decoder of one line: the UTF-8 text before the end-of-line marker, and the marker.
 * A line is delivered only once its marker has arrived, so a partial last line at end of input
 * is never delivered (the handle reports `EPIPE`). Invalid UTF-8 becomes U+FFFD; a multi-byte
 * character or a marker split across reads is never broken.
 *
 * ```text
 * +------------ line ------------+-- eol --+
 * | UTF-8 text (no marker in it) | \r? \n  |  next line ...
 * +------------------------------+---------+
 * ```
 *
 * Cost: the default and string markers resume the search where the previous attempt stopped
 * (absolute positions, see `ReadBuffer.consumedTotal`), so a line arriving in many pieces is
 * scanned once: O(line length). A RegExp marker cannot be resumed safely, so each attempt
 * rescans the buffered text from the start of the line, bounded by `maxLength`; the lines of
 * one read are cut from one decoding of it. A leftmost match wins on the data buffered so far;
 * a greedy RegExp (`/\n+/`) may therefore match differently depending on how the input was
 * split. Memory: at most `maxLength` plus the marker plus one read is buffered before
 * `EMSGSIZE` (a RegExp marker may reach at most 1 KiB past `maxLength`).
 *
 * @param eolOrOptions The end-of-line marker, or {@linkcode LineOptions}.
 * @param settings The reading handle's settings (its `maxFrameLength` is the default limit).
 * @returns A decoder of `[line, eol]`, or of the line alone and then its marker.
 * @throws {RangeError} If `maxLength` is not a positive integer or `Infinity`, or `discard` is
 * asked for with a RegExp marker.
 * @throws {TypeError} If `eol` is neither a string nor a RegExp.
 *
 * @example Default markers: LF, CRLF, and a lone CR kept in the line
 * ```ts
 * import { lineDecoder, ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new TextEncoder().encode("a\r\nb\rc\nrest"));
 * const lines = lineDecoder();
 * assert.deepEqual(lines.decode(buf), ["a", "\r\n"]);
 * assert.deepEqual(lines.decode(buf), ["b\rc", "\n"]);
 * assert.equal(buf.text(), "rest");
 * ```
 *
 * @example A literal marker and a length limit
 * ```ts
 * import { HandleError, lineDecoder, ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new TextEncoder().encode("key=value;too-long-field"));
 * const fields = lineDecoder({ eol: ";", maxLength: 10 });
 * assert.deepEqual(fields.decode(buf), ["key=value", ";"]);
 * assert.throws(() => fields.decode(buf), (e) => e instanceof HandleError && e.code === "EMSGSIZE");
 * ```
 */
export function lineDecoder(
  eolOrOptions?: string | RegExp | LineOptions,
  settings?: CodecSettings,
): LineDecoder {
  if (eolOrOptions === undefined) {
    return new LfLineDecoder(frameLimit(undefined, DEFAULT_MAX_LINE_LENGTH, settings));
  }
  const options: LineOptions = typeof eolOrOptions === "string" || eolOrOptions instanceof RegExp
    ? { eol: eolOrOptions }
    : eolOrOptions ?? {};
  const maxLength = frameLimit(options.maxLength, DEFAULT_MAX_LINE_LENGTH, settings);
  const eol = options.eol;
  let decoder: LfLineDecoder | StringLineDecoder;
  if (eol === undefined) decoder = new LfLineDecoder(maxLength);
  else if (typeof eol === "string") decoder = new StringLineDecoder(eol, maxLength);
  else if (eol instanceof RegExp) {
    if (options.discard) {
      throw new RangeError("Cannot use discard with a RegExp eol: use a string eol or the default");
    }
    return new RegExpLineDecoder(eol, maxLength);
  } else throw new TypeError(`Cannot use eol "${String(eol)}": expected a string or a RegExp`);
  if (!options.discard || eol === "") return decoder;
  return new DiscardingLineDecoder(decoder, eol === undefined ? LF_BYTES : encoder.encode(eol));
}

/** The type of {@linkcode line}. */
export type LineType = ReadType<[] | [eol: string | RegExp | LineOptions], Line, true>;

/**
 * The `line` read type: `h.pushRead(line, [eol | options,] (h, line, eol) => ...)`, one line
 * of UTF-8 text; `await h.read(line)` gives the line alone.
 *
 * @example Reading lines with a custom marker
 * ```ts
 * import { Handle, line } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const peer = listener.accept().then(async (conn) => {
 *   await conn.write(new TextEncoder().encode("a;b\n"));
 *   return conn;
 * });
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * assert.equal(await h.read(line(";")), "a");
 * assert.equal(await h.read(line), "b");
 * h.destroy();
 * (await peer).close();
 * listener.close();
 * ```
 */
export const line: LineType = defineReadType(
  "line",
  (settings, eol?: string | RegExp | LineOptions) => lineDecoder(eol, settings),
  { spread: true, maxArgs: 1 },
);
