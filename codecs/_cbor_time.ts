/**
 * CBOR's standard date/time tags (RFC 8949 3.4.1, 3.4.2) as JavaScript `Date`s, for the
 * `cbor` types: a `Date` is written as tag 1 (seconds since the epoch), and tags 1 and 0
 * (RFC 3339 text) are read back as `Date`s. CBOR::XS does the same with `Time::Piece`: it
 * decodes both tags to one and writes tag 1 (`0 + $t->epoch`).
 *
 * ```text
 * tag 1: c1 + an integer or a float   seconds since 1970-01-01T00:00:00Z
 * tag 0: c0 + a text string           "2013-03-21T20:04:00Z", "...T21:04:00.25+01:00"
 * ```
 *
 * @module
 */
import { objectToTokens, Token, Type } from "cborg";
import type { EncodeOptions, TagDecodeControl } from "cborg";

/** Tag 0: an RFC 3339 date/time string. */
export const TAG_DATE_TEXT = 0;
/** Tag 1: seconds since the epoch, an integer or a float. */
export const TAG_DATE_EPOCH = 1;

/**
 * Writes a `Date` as tag 1: whole seconds as an integer (`c1 1a 51 4b 67 b0`), anything finer
 * as a float of seconds (cborg picks the shortest float that holds it exactly), as CBOR::XS
 * writes a `Time::Piece`.
 *
 * @throws {TypeError} For an invalid `Date` (`new Date(NaN)`): it has no time to write.
 */
export function encodeDate(
  date: Date,
  _type: string,
  options: EncodeOptions,
): [Token, ReturnType<typeof objectToTokens>] {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new TypeError("Cannot encode an invalid Date");
  return [new Token(Type.tag, TAG_DATE_EPOCH), objectToTokens(ms / 1000, options)];
}

/** Milliseconds as a `Date`, or a throw when they are outside the range a `Date` holds. */
function toDate(ms: number, what: string): Date {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw new RangeError(`${what} is outside the range of a Date`);
  return date;
}

/**
 * Reads tag 1 as a `Date`. Seconds are rounded to the nearest millisecond, a `Date`'s
 * resolution (so `1363896240.123`, which no float holds exactly, gives back its `.123`).
 *
 * @throws {TypeError} If the content is not a number (the item is skipped as `EBADMSG`).
 * @throws {RangeError} If the time is beyond what a `Date` holds (±8.64e12 s).
 */
export function decodeEpochDate(content: TagDecodeControl): Date {
  const seconds = content();
  if (typeof seconds !== "number" && typeof seconds !== "bigint") {
    throw new TypeError(`Tag 1 (epoch time) holds ${describe(seconds)}: expected a number`);
  }
  return toDate(Math.round(Number(seconds) * 1000), `Tag 1 (epoch time) ${seconds}`);
}

/**
 * RFC 3339's `date-time`: full date, `T`, time with optional fraction, `Z` or an offset (the
 * letters in either case, as RFC 3339 5.6 allows).
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Reads tag 0 as a `Date`: the text must be an RFC 3339 date-time. Fractions finer than a
 * millisecond are rounded; a leap second (`:60`) is the first instant of the next minute.
 *
 * @throws {TypeError} If the content is not a string.
 * @throws {RangeError} If the string is not an RFC 3339 date-time, or names no such day.
 */
export function decodeTextDate(content: TagDecodeControl): Date {
  const text = content();
  if (typeof text !== "string") {
    throw new TypeError(`Tag 0 (date/time text) holds ${describe(text)}: expected a string`);
  }
  const m = RFC3339.exec(text);
  const bad = () => new RangeError(`Tag 0 holds "${text}": not an RFC 3339 date-time`);
  if (m === null) throw bad();
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const offsetHours = m[9] === undefined ? 0 : Number(m[10]);
  const offsetMinutes = m[9] === undefined ? 0 : Number(m[11]);
  if (hour > 23 || minute > 59 || second > 60 || offsetHours > 23 || offsetMinutes > 59) {
    throw bad();
  }
  // setUTCFullYear, not Date.UTC, which takes years 0 to 99 as 1900 to 1999.
  const at = new Date(0);
  at.setUTCFullYear(year, month - 1, day);
  if (at.getUTCMonth() !== month - 1 || at.getUTCDate() !== day) throw bad(); // "02-30"
  at.setUTCHours(hour, minute, second);
  const fraction = m[7] === undefined ? 0 : Number(m[7]);
  const offset = (m[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  return toDate(at.getTime() - offset + Math.round(fraction * 1000), `Tag 0 "${text}"`);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Uint8Array) return "a byte string";
  if (Array.isArray(value)) return "an array";
  return `a value of type ${typeof value}`;
}
