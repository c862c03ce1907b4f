/**
 * A decoded run of ASCII bytes of a ReadBuffer, for decoders that cut many short texts out of it
 * (JSON texts): one TextDecoder call per run and a string slice per text is several times
 * cheaper than a TextDecoder call per short text.
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";
import { MAX_SLICED_TEXT } from "./_decoded_text.ts";

/** The first run decoded after the window was left unused. */
const MIN_WINDOW = 512;
/** The longest run decoded at once. */
const MAX_WINDOW = MAX_SLICED_TEXT;

/**
 * The text of the bytes `[pos, end)` of a buffer (absolute positions), kept only when every
 * byte decoded to one code unit (ASCII, or a lone byte that became U+FFFD), so byte and text
 * offsets coincide. A byte's absolute position names the same byte for the whole generation,
 * so the text stays true whoever consumes bytes meanwhile.
 */
class AsciiWindow {
  generation = -1;
  pos = 0;
  end = 0;
  /** The decoded text, or `undefined` when `[pos, end)` did not decode byte for character. */
  text: string | undefined = undefined;
  /** How many bytes the next run decodes; doubles while runs are used up, up to MAX. */
  size = MIN_WINDOW;
}

const windows = new WeakMap<ReadBuffer, AsciiWindow>();

/**
 * The text of live bytes `[from, to)` of `buf`, as `buf.text(from, to)` returns it. When more
 * bytes follow, a run from `from` on is decoded once and later calls for texts inside it are
 * slices of it.
 *
 * @param buf The buffer.
 * @param from Start offset (relative to the first live byte), where a character starts.
 * @param to End offset, where a character ends (a text never ends inside one).
 * @returns The decoded text.
 */
export function windowText(buf: ReadBuffer, from: number, to: number): string {
  let w = windows.get(buf);
  if (w === undefined) windows.set(buf, w = new AsciiWindow());
  const base = buf.consumedTotal;
  const at = base + from;
  if (w.generation === buf.generation && at >= w.pos && base + to <= w.end) {
    if (w.text !== undefined) return w.text.slice(at - w.pos, base + to - w.pos);
    return buf.text(from, to); // inside a run that was not ASCII
  }
  if (to >= buf.length) return buf.text(from, to); // nothing follows: decode just this text
  const usedUp = w.generation === buf.generation && at === w.end;
  w.size = usedUp ? Math.min(w.size * 2, MAX_WINDOW) : MIN_WINDOW;
  const end = Math.min(buf.length, Math.max(to, from + w.size));
  const text = buf.text(from, end);
  w.generation = buf.generation;
  w.pos = at;
  w.end = base + end;
  // Each character comes from at least one byte: as many characters as bytes means one each.
  w.text = text.length === end - from ? text : undefined;
  return w.text !== undefined ? text.slice(0, to - from) : buf.text(from, to);
}
