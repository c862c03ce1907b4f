/**
 * {@linkcode DecodedText}: the decoded text of a run of a ReadBuffer's live bytes, which the
 * text decoders that decode once per read cut their frames from.
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";

/**
 * The longest text a decoder decodes at once to slice frames from, past what a frame itself
 * needs. It bounds how much text a delivered frame can keep alive (engines may share a slice's
 * memory with the string it was cut from).
 */
export const MAX_SLICED_TEXT = 16 * 1024;

/**
 * The decoded text of the bytes `[pos, end)` of a buffer (absolute positions), and where in
 * it the first undelivered byte is. Valid only while `pos` is the buffer's `consumedTotal` in
 * the same generation: the owner checks that before each use.
 */
export class DecodedText {
  /** The buffer generation the text was decoded in. */
  generation = -1;
  /** Absolute position of the first byte not yet delivered. */
  pos = 0;
  /** Absolute position just past the decoded bytes. */
  end = 0;
  /** The decoded text. */
  text = "";
  /** Index in `text` of the character at `pos`. */
  textPos = 0;
  /** Whether every byte decoded to one code unit, so byte and text offsets coincide. */
  identity = false;

  /**
   * Decodes the first `bytes` live bytes of `buf` as the run.
   *
   * @param buf The buffer.
   * @param bytes How many bytes.
   */
  decode(buf: ReadBuffer, bytes: number): void {
    const base = buf.consumedTotal;
    this.text = buf.text(0, bytes);
    this.textPos = 0;
    this.pos = base;
    this.end = base + bytes;
    // Each code unit comes from at least one byte: as many as bytes means one each.
    this.identity = this.text.length === bytes;
    this.generation = buf.generation;
  }

  /**
   * Marks the first bytes as delivered (they were consumed from the buffer).
   *
   * @param bytes How many bytes.
   * @param units How many code units they decoded to.
   */
  advance(bytes: number, units: number): void {
    this.pos += bytes;
    this.textPos += units;
  }
}
