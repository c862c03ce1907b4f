/**
 * Bytes as a person reads them in a failure message: hex, then the same bytes as text with
 * everything that is not printable ASCII escaped, so that two messages that look alike are
 * alike byte for byte.
 *
 * @module
 */

/** Most bytes shown on one line; longer runs show a window with "…" at the cut ends. */
const SHOWN = 48;

const encoder = new TextEncoder();

/**
 * Turns a string into its UTF-8 bytes and copies an array (the caller may change it later).
 *
 * @param data Bytes or text.
 * @returns A fresh array.
 */
export function toBytes(data: string | Uint8Array): Uint8Array {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof Uint8Array) return data.slice();
  throw new TypeError(`Expected a string or a Uint8Array, got ${typeof data}`);
}

/** One byte as text: printable ASCII as is, the usual escapes, else `\xNN`. */
function char(b: number): string {
  if (b === 0x0a) return "\\n";
  if (b === 0x0d) return "\\r";
  if (b === 0x09) return "\\t";
  if (b === 0x22) return '\\"';
  if (b === 0x5c) return "\\\\";
  if (b >= 0x20 && b < 0x7f) return String.fromCharCode(b);
  return "\\x" + b.toString(16).padStart(2, "0");
}

/**
 * Describes `bytes` on one line: `<hex>  "<text>"`, or `(none)` when empty. A run longer than
 * 48 bytes shows the 48 from `around - 16` on (`around`: where the eye should go, such as the
 * first byte that differs), with the byte count.
 *
 * @param bytes The bytes.
 * @param around An offset that must be in view.
 * @returns The line.
 */
export function describeBytes(bytes: Uint8Array, around = 0): string {
  if (bytes.length === 0) return "(none)";
  let from = 0;
  if (bytes.length > SHOWN) from = Math.max(0, Math.min(around - 16, bytes.length - SHOWN));
  const to = Math.min(bytes.length, from + SHOWN);
  const view = bytes.subarray(from, to);
  const hex = Array.from(view, (b) => b.toString(16).padStart(2, "0")).join(" ");
  const text = Array.from(view, char).join("");
  const head = from > 0 ? "… " : "";
  const tail = to < bytes.length ? " …" : "";
  const size = bytes.length > SHOWN ? ` (${bytes.length} bytes, from byte ${from})` : "";
  return `${head}${hex}${tail}  ${head}"${text}"${tail}${size}`;
}
