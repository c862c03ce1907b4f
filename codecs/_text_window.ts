/**
 * A decoded run of complete lines at the front of a ReadBuffer, shared by the line decoders
 * reading that buffer: decoding one span with one TextDecoder call and splitting the string is
 * several times faster than decoding each short line on its own.
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";
import { DecodedText, MAX_SLICED_TEXT } from "./_decoded_text.ts";

/** The first span decoded after the window was interrupted. */
export const MIN_WINDOW = 256;
/** The largest span decoded at once. */
export const MAX_WINDOW = MAX_SLICED_TEXT;

/**
 * The decoded text of the bytes `[pos, end)` of a buffer (absolute positions), which end just
 * after a line feed (`fill`), or anywhere after a line marker (`fillThrough`). It is valid
 * only while `pos` is the buffer's `consumedTotal`: any other reader consuming bytes, or a new
 * generation, invalidates it, and the bytes themselves never leave the buffer.
 */
export class TextWindow extends DecodedText {
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
    const limit = Math.min(buf.length, Math.max(this.#grow(buf), lf + 1));
    this.decode(buf, buf.lastIndexOf(0x0a, lf, limit) + 1);
  }

  /**
   * Decodes at least the first `through` bytes (which end just after a line marker), and more
   * up to the window's size. The end may cut a character in two: the text before it is what
   * decoding more would give, and a line is cut only if it ends inside the window.
   *
   * @param buf The buffer.
   * @param through How many bytes the window must hold.
   */
  fillThrough(buf: ReadBuffer, through: number): void {
    this.decode(buf, Math.min(buf.length, Math.max(this.#grow(buf), through)));
  }

  /** The size of the next fill: doubled while windows are used up, else back to the least. */
  #grow(buf: ReadBuffer): number {
    const usedUp = this.generation === buf.generation && this.pos === this.end &&
      this.end === buf.consumedTotal;
    return this.size = usedUp ? Math.min(this.size * 2, MAX_WINDOW) : MIN_WINDOW;
  }
}

const windows = new WeakMap<ReadBuffer, TextWindow>();
const markerWindows = new WeakMap<ReadBuffer, TextWindow>();

/**
 * The text window of a buffer that the default line decoders share (filled with `fill`: it
 * ends after a line feed), made on first use.
 *
 * @param buf The buffer.
 * @returns Its window.
 */
export function textWindowOf(buf: ReadBuffer): TextWindow {
  let window = windows.get(buf);
  if (window === undefined) windows.set(buf, window = new TextWindow());
  return window;
}

/**
 * The text window of a buffer that its string-marker line decoders share, whatever their
 * markers (filled with `fillThrough`: it may end anywhere, and a line is cut from it only if
 * it ends inside), made on first use.
 *
 * @param buf The buffer.
 * @returns Its window.
 */
export function markerWindowOf(buf: ReadBuffer): TextWindow {
  let window = markerWindows.get(buf);
  if (window === undefined) markerWindows.set(buf, window = new TextWindow());
  return window;
}
