/**
 * IP address text for the PROXY protocol codec (internal): strict validators that also answer
 * "can this still become a valid address?" (so a parser can fail at the first impossible byte),
 * conversion to bytes, and the canonical text Deno reports (`conn.remoteAddr.hostname`).
 *
 * @module
 */

/** What a scan of a (possibly partial) field found. */
export interface Scan {
  /** Whether the text is a valid address or port, or could become one with more characters. */
  readonly prefix: boolean;
  /** Whether the text is a complete, valid address or port. */
  readonly complete: boolean;
}

const NO: Scan = { prefix: false, complete: false };
const PARTIAL: Scan = { prefix: true, complete: false };
const DONE: Scan = { prefix: true, complete: true };

const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const DOT = 0x2e;

function hexValue(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * Scans dotted-quad IPv4 text: exactly four decimal numbers 0–255 separated by single dots,
 * with no leading zeros (the PROXY protocol forbids them, to avoid octal confusion).
 *
 * @param text The text so far.
 * @returns Whether it is, or may become, an IPv4 address.
 */
export function scanIpv4(text: string): Scan {
  let dots = 0;
  let digits = 0;
  let value = 0;
  let leadingZero = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= ZERO && c <= NINE) {
      if (leadingZero || digits === 3) return NO;
      leadingZero = digits === 0 && c === ZERO;
      value = value * 10 + (c - ZERO);
      if (value > 255) return NO;
      digits++;
    } else if (c === DOT) {
      if (digits === 0 || dots === 3) return NO;
      dots++;
      digits = value = 0;
      leadingZero = false;
    } else {
      return NO;
    }
  }
  return dots === 3 && digits > 0 ? DONE : PARTIAL;
}

/**
 * Scans IPv6 text (RFC 4291 section 2.2): eight groups of one to four hex digits (either case)
 * separated by colons, at most one `::` standing for one or more zero groups, and optionally
 * a dotted quad as the last 32 bits (`::ffff:192.0.2.1`, as `inet_ntop` writes mapped
 * addresses).
 *
 * @param text The text so far.
 * @returns Whether it is, or may become, an IPv6 address.
 */
export function scanIpv6(text: string): Scan {
  let groups = 0; // complete 16-bit groups
  let digits = 0; // hex digits of the group being read
  let double = false; // "::" seen
  let colons = 0; // colons just read: 0, 1 or 2
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (hexValue(c) >= 0) {
      if (colons === 1 && i === 1) return NO; // a lone leading colon
      if (digits === 0 && groups >= (double ? 7 : 8)) return NO; // no room for a group
      if (digits === 4) return NO;
      digits++;
      colons = 0;
    } else if (c === COLON) {
      if (digits > 0) {
        groups++;
        digits = 0;
        colons = 1;
        if (groups > (double ? 6 : 7)) return NO; // another group must follow
      } else if (colons === 1) {
        if (double) return NO;
        double = true;
        colons = 2;
      } else if (i === 0) {
        colons = 1;
      } else {
        return NO; // ":::"
      }
    } else if (c === DOT) {
      // The group being read is the first number of a dotted quad taking the last two groups:
      // nothing after it adds groups, so the count must already be right.
      if (digits === 0 || (double ? groups > 5 : groups !== 6)) return NO;
      const quad = scanIpv4(text.slice(i - digits));
      return quad.prefix ? quad : NO;
    } else {
      return NO;
    }
  }
  if (digits > 0) {
    const total = groups + 1;
    return (double ? total <= 7 : total === 8) ? DONE : PARTIAL;
  }
  return colons === 2 ? DONE : PARTIAL;
}

/**
 * Scans a decimal port: 0–65535, no leading zeros.
 *
 * @param text The text so far.
 * @returns Whether it is, or may become, a port.
 */
export function scanPort(text: string): Scan {
  if (text.length > 1 && text.charCodeAt(0) === ZERO) return NO;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > NINE) return NO;
    value = value * 10 + (c - ZERO);
    if (value > 65535) return NO;
  }
  return text.length > 0 ? DONE : PARTIAL;
}

/**
 * Converts IPv4 text to its four bytes.
 *
 * @param text The address.
 * @returns The bytes, or `undefined` if `text` is not a valid address.
 */
export function ipv4Bytes(text: string): Uint8Array | undefined {
  if (!scanIpv4(text).complete) return undefined;
  return Uint8Array.from(text.split("."), Number);
}

/**
 * Converts IPv6 text to its sixteen bytes.
 *
 * @param text The address.
 * @returns The bytes, or `undefined` if `text` is not a valid address.
 */
export function ipv6Bytes(text: string): Uint8Array | undefined {
  if (!scanIpv6(text).complete) return undefined;
  const groups = (part: string): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    for (const group of part.split(":")) {
      if (group.includes(".")) {
        const [a, b, c, d] = ipv4Bytes(group)!;
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(group, 16));
      }
    }
    return out;
  };
  const [head, tail] = text.split("::");
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const all = [...front, ...new Array(8 - front.length - back.length).fill(0), ...back];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * Formats four bytes as dotted-quad text.
 *
 * @param bytes Holds the address.
 * @param at Where the address starts in `bytes`.
 * @returns The text.
 */
export function formatIpv4(bytes: Uint8Array, at = 0): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/**
 * Formats sixteen bytes as Deno reports an IPv6 address: RFC 5952 text (lower case, no
 * leading zeros, the first longest run of two or more zero groups as `::`), except that an
 * IPv4-mapped address ends in a dotted quad (`::ffff:127.0.0.1`).
 *
 * @param bytes Holds the address.
 * @param at Where the address starts in `bytes`.
 * @returns The text.
 */
export function formatIpv6(bytes: Uint8Array, at = 0): string {
  const groups = Array.from(
    { length: 8 },
    (_, i) => (bytes[at + 2 * i] << 8) | bytes[at + 2 * i + 1],
  );
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIpv4(bytes, at + 12)}`;
  }
  let runStart = -1;
  let runLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > runLength) {
      runStart = i;
      runLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(":");
  if (runLength < 2) return hex(groups);
  return `${hex(groups.slice(0, runStart))}::${hex(groups.slice(runStart + runLength))}`;
}
