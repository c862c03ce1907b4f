/**
 * The decoded text of everything a ReadBuffer holds, shared by the regex decoders reading that
 * buffer. A regex is matched against all the buffered text, so each frame used to decode the
 * whole rest of the buffer: k pipelined frames in one read cost k decodes of up to the read.
 * Now the buffered bytes are decoded once, and each frame's match starts where the last one
 * ended.
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";
import { byteOffsetOfUnit } from "./_utf8.ts";
import { DecodedText, MAX_SLICED_TEXT } from "./_decoded_text.ts";
import { windowText } from "./_ascii_window.ts";

/**
 * The decoded text of the live bytes `[pos, end)` of a buffer (absolute positions), `end`
 * being the buffer's end when it was decoded. Valid only while `pos` is the buffer's
 * `consumedTotal` and nothing has been appended: any other reader consuming bytes, a new read
 * or a new generation makes it stale, and it is decoded again.
 */
export class BufferedText extends DecodedText {
  /**
   * The text of the undelivered bytes, decoded now if the last decoding is stale.
   *
   * @param buf The buffer.
   * @returns The text from the buffer's first live byte to its end, exactly as
   * `buf.text()` would decode it.
   */
  rest(buf: ReadBuffer): string {
    const base = buf.consumedTotal;
    if (
      this.pos !== base || this.end !== base + buf.length || this.generation !== buf.generation
    ) this.decode(buf, buf.length);
    return this.textPos === 0 ? this.text : this.text.slice(this.textPos);
  }

  /**
   * Where the first `units` code units of `rest(buf)` end, in bytes and in code units: a
   * match's end, mapped back to the bytes to consume. A unit count that falls between the two
   * halves of a surrogate pair is rounded up to the whole character, as the bytes are.
   *
   * @param buf The buffer (`rest` was just called on it).
   * @param units A code-unit count into `rest(buf)`.
   * @returns The byte count and the matching code-unit count.
   */
  measure(buf: ReadBuffer, units: number): { bytes: number; units: number } {
    if (this.identity) return { bytes: units, units };
    const bytes = byteOffsetOfUnit(buf.view(0), units);
    const at = this.textPos + units;
    const split = units > 0 && isHigh(this.text.charCodeAt(at - 1)) &&
      isLow(this.text.charCodeAt(at));
    return { bytes, units: split ? units + 1 : units };
  }

  /**
   * The text of the first bytes, a frame about to be delivered: `rest.slice(0, units)`,
   * unless that would keep a long text alive.
   *
   * @param buf The buffer (the frame is not consumed yet).
   * @param rest What `rest(buf)` returned.
   * @param end The frame's end, from `measure`.
   * @returns The frame's text.
   */
  frame(buf: ReadBuffer, rest: string, end: { bytes: number; units: number }): string {
    if (this.text.length <= MAX_SLICED_TEXT) return rest.slice(0, end.units);
    return windowText(buf, 0, end.bytes); // a run of its own, or the frame alone
  }
}

function isHigh(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLow(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

const texts = new WeakMap<ReadBuffer, BufferedText>();

/**
 * The buffered text of a buffer, made on first use.
 *
 * @param buf The buffer.
 * @returns Its buffered text.
 */
export function bufferedTextOf(buf: ReadBuffer): BufferedText {
  let text = texts.get(buf);
  if (text === undefined) texts.set(buf, text = new BufferedText());
  return text;
}
