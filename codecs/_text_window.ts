/**
 * A decoded run of complete lines at the front of a ReadBuffer, shared by the line decoders
 * reading that buffer: decoding one span with one TextDecoder call and splitting the string is
 * several times faster than decoding each short line on its own.
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";

/** The first span decoded after the window was interrupted. */
export const MIN_WINDOW = 256;
/**
 * The largest span decoded at once. It also bounds how much text a delivered line can keep
 * alive (engines may share a slice's memory with the string it was cut from).
 */
export const MAX_WINDOW = 16 * 1024;

/**
 * The decoded text of the bytes `[pos, end)` of a buffer (absolute positions), which end just
 * after a line feed. It is valid only while `pos` is the buffer's `consumedTotal`: any other
 * reader consuming bytes, or a new generation, invalidates it, and the bytes themselves never
 * leave the buffer.
 */
export class TextWindow {
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
  /** How many bytes the next fill decodes; doubles while windows are used up, up to MAX. */
  size = MIN_WINDOW;

  /**
   * Whether the window holds the next bytes of `buf`.
   *
   * @param buf The buffer.
   * @returns True if `buf`'s first live byte is `pos` and lies inside the window.
   */
  covers(buf: ReadBuffer): boolean {
    const base = buf.consumedTotal;
    return this.pos === base && base < this.end && this.generation === buf.generation;
  }

  /**
   * Decodes the complete lines in the first `size` bytes (at least through `lf`).
   *
   * @param buf The buffer.
   * @param lf Offset of a line feed known to be in the buffer.
   */
  fill(buf: ReadBuffer, lf: number): void {
    const base = buf.consumedTotal;
    const usedUp = this.generation === buf.generation && this.pos === this.end &&
      this.end === base;
    this.size = usedUp ? Math.min(this.size * 2, MAX_WINDOW) : MIN_WINDOW;
    const limit = Math.min(buf.length, Math.max(this.size, lf + 1));
    const bytes = buf.lastIndexOf(0x0a, lf, limit) + 1;
    this.text = buf.text(0, bytes);
    this.textPos = 0;
    this.pos = base;
    this.end = base + bytes;
    this.identity = this.text.length === bytes;
    this.generation = buf.generation;
  }
}

const windows = new WeakMap<ReadBuffer, TextWindow>();

/**
 * The text window of a buffer, made on first use.
 *
 * @param buf The buffer.
 * @returns Its window.
 */
export function textWindowOf(buf: ReadBuffer): TextWindow {
  let window = windows.get(buf);
  if (window === undefined) windows.set(buf, window = new TextWindow());
  return window;
}
