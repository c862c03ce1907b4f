/**
 * The framing half of the `cbor` read type (`codecs/cbor.ts`): finds where one CBOR data item
 * (RFC 8949) ends by reading only its headers, resumably, and notes what has to be rewritten
 * before cborg decodes it (indefinite-length strings, byte-string map keys, maps whose keys
 * are not all strings). Internal: not exported from the package.
 *
 * @module
 */
import { HandleError } from "../base/errors.ts";

/** What the scanner needs to know from the decoder's options. */
export interface ScanSettings {
  /** The longest item accepted, in bytes. */
  maxLength: number;
  /** The deepest nesting of arrays, maps and tags accepted. */
  maxDepth: number;
  /** Whether byte-string map keys that are valid UTF-8 become text keys. */
  byteKeysText: boolean;
  /** Whether cborg builds a `Map` for every map (then no map needs tag 259 around it). */
  useMaps: boolean;
  /** Whether cborg has a decoder for a tag number (others are preserved as `CborTagged`). */
  knownTag(tag: number): boolean;
}

/** Frame kinds: what the scanner is inside of. */
const ARRAY = 0;
const MAP = 1;
const TAG = 2;
const CHUNKS = 3; // an indefinite-length byte or text string: definite chunks, then a break

/** Tag 259 (RFC 8949 registry: "Map datatype"), inserted in front of maps cborg must not make objects of. */
const TAG_MAP = 259;
const TAG_MAP_HEADER = [0xd9, 0x01, 0x03];

/** One open container. */
interface Frame {
  kind: number;
  /** Items still expected (a map of n pairs expects 2n), or Infinity until a break. */
  left: number;
  /** Items seen so far: in a map, an even count means the next item is a key. */
  count: number;
  /** Where the container's header starts (relative to the item). */
  at: number;
  /** For TAG: the tag number. */
  tag: number;
  /** For MAP: directly inside a tag 259 (already decoded as a Map). */
  tagged: boolean;
  /** For MAP: the edit that may wrap it in tag 259, made on the first key that needs it. */
  map: MapEdit | undefined;
  /** For CHUNKS: the string being collected. */
  str: StringEdit | undefined;
}

/** A byte or text string to rewrite: made definite, or turned from bytes into text. */
interface StringEdit {
  at: number;
  /** End of the original encoding (after the break for an indefinite string). */
  end: number;
  /** 2 (bytes) or 3 (text); a byte key that is valid UTF-8 becomes 3. */
  major: number;
  indefinite: boolean;
  /** Payload ranges, `[start, end, start, end, ...]`, relative to the item. */
  chunks: number[];
  total: number;
  /** A byte-string map key, to become text if it is valid UTF-8. */
  byteKey: boolean;
  /** The map it is a key of (to wrap in tag 259 if it stays bytes), unless useMaps. */
  map: MapEdit | undefined;
}

/** A map that gets tag 259 in front when one of its keys is not a string. */
interface MapEdit {
  at: number;
  wrap: boolean;
}

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function isUtf8(bytes: Uint8Array): boolean {
  try {
    fatalUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function headerLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
}

function writeHeader(out: Uint8Array, at: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) {
    out[at] = m | n;
    return at + 1;
  }
  if (n < 0x100) {
    out[at] = m | 24;
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    out[at] = m | 25;
    out[at + 1] = n >>> 8;
    out[at + 2] = n & 0xff;
    return at + 3;
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (n < 0x100000000) {
    out[at] = m | 26;
    view.setUint32(at + 1, n);
    return at + 5;
  }
  out[at] = m | 27;
  view.setUint32(at + 1, Math.floor(n / 0x100000000));
  view.setUint32(at + 5, n >>> 0);
  return at + 9;
}

function notWellFormed(what: string, at: number): HandleError {
  return new HandleError(
    "EBADMSG",
    `Cannot find the end of the CBOR item: ${what} at byte ${at}`,
  );
}

/**
 * Scans one CBOR data item's headers. `scan` resumes where the last call stopped (positions
 * are relative to the item's first byte, which the decoder keeps at the front of the buffer),
 * so every header byte is read once however the item arrives; string payloads are skipped
 * without being read. Memory: one frame per open container (at most `maxDepth` + 1) and one
 * edit record per indefinite string, byte-string key and map with a non-string key.
 */
export class CborScanner {
  readonly #settings: ScanSettings;
  readonly #frames: Frame[] = [];
  #top = -1; // index of the innermost open frame
  #nesting = 0; // open arrays, maps and tags
  #pos = 0; // where the next header starts
  #end = -1; // the item's end, once its framing is complete
  #strings: StringEdit[] = [];
  #maps: MapEdit[] = [];
  #unknownTags = new Set<number>();
  #examined = 0;

  /**
   * Makes a scanner.
   *
   * @param settings Limits and key handling.
   */
  constructor(settings: ScanSettings) {
    this.#settings = settings;
  }

  /** How many header bytes have been read in total (evidence that the scan is linear). */
  get bytesExamined(): number {
    return this.#examined;
  }

  /** Tag numbers in the item that have no decoder, to be preserved as `CborTagged`. */
  get unknownTags(): ReadonlySet<number> {
    return this.#unknownTags;
  }

  /** Forgets the item scanned so far (after it was consumed, or when the buffer changed). */
  reset(): void {
    this.#top = -1;
    this.#nesting = 0;
    this.#pos = 0;
    this.#end = -1;
    if (this.#strings.length > 0) this.#strings = [];
    if (this.#maps.length > 0) this.#maps = [];
    if (this.#unknownTags.size > 0) this.#unknownTags = new Set();
  }

  /**
   * Scans on over `bytes` (the buffered bytes, starting at the item's first byte).
   *
   * @param bytes The buffered bytes; only read, never kept.
   * @returns The item's end offset once its framing is complete (it may lie past the bytes
   * buffered, when the last string's payload has not all arrived), else -1.
   * @throws {HandleError} `EMSGSIZE` past `maxLength` or `maxDepth`; `EBADMSG` for a header
   * that is not well-formed (both fatal).
   */
  scan(bytes: Uint8Array): number {
    if (this.#end >= 0) return this.#end;
    const { maxLength, maxDepth, byteKeysText, useMaps } = this.#settings;
    const length = bytes.length;
    let pos = this.#pos;
    while (pos < length) {
      const ib = bytes[pos];
      this.#examined++;
      const major = ib >> 5;
      const ai = ib & 31;
      let hlen = 1;
      let arg = ai;
      if (ai >= 24 && ai <= 27) {
        hlen = 1 + (1 << (ai - 24));
        if (pos + hlen > length) break;
        this.#examined += hlen - 1;
        arg = 0;
        for (let i = 1; i < hlen; i++) arg = arg * 256 + bytes[pos + i];
      } else if (ai >= 28 && ai <= 30) {
        throw notWellFormed(`reserved additional information ${ai} (byte 0x${hex(ib)})`, pos);
      }
      const top = this.#top >= 0 ? this.#frames[this.#top] : undefined;
      if (ib === 0xff) {
        if (top === undefined || top.left !== Infinity) {
          throw notWellFormed("a break outside an indefinite-length item", pos);
        }
        if (top.kind === MAP && top.count % 2) {
          throw notWellFormed("a break after a map key, before its value", pos);
        }
        pos = this.#checkEnd(pos + 1, maxLength, "a break");
        if (top.kind === CHUNKS) top.str!.end = pos;
        this.#pop();
        if (this.#complete()) return this.#finish(pos);
        continue;
      }
      if (top?.kind === CHUNKS) {
        // RFC 8949 3.2.3: only definite strings of the string's own major type.
        if (major !== top.str!.major || ai === 31) {
          throw notWellFormed(`a byte 0x${hex(ib)} inside an indefinite-length string`, pos);
        }
        const next = this.#checkEnd(pos + hlen + arg, maxLength, "a string chunk");
        top.str!.chunks.push(pos + hlen, next);
        top.str!.total += arg;
        pos = next;
        this.#complete();
        continue;
      }
      const isKey = top !== undefined && top.kind === MAP && top.count % 2 === 0;
      // A key that is not text makes its map a Map; for a byte-string key that may become
      // text, that is decided once its bytes are there (rewrite).
      if (isKey && major !== 3 && !(major === 2 && byteKeysText) && !useMaps) {
        this.#mapEdit(top).wrap = true;
      }
      switch (major) {
        case 0:
        case 1:
        case 7:
          if (ai === 31) throw notWellFormed(`indefinite length on major type ${major}`, pos);
          pos = this.#checkEnd(pos + hlen, maxLength, "a value");
          if (this.#complete()) return this.#finish(pos);
          break;
        case 2:
        case 3: {
          const byteKey = isKey && major === 2 && byteKeysText;
          const map = byteKey && !useMaps ? this.#mapEdit(top!) : undefined;
          if (ai === 31) {
            const str: StringEdit = {
              at: pos,
              end: -1,
              major,
              indefinite: true,
              chunks: [],
              total: 0,
              byteKey,
              map,
            };
            this.#strings.push(str);
            this.#push(CHUNKS, Infinity, pos).str = str;
            pos = this.#checkEnd(pos + 1, maxLength, "an indefinite string");
            break;
          }
          const next = this.#checkEnd(pos + hlen + arg, maxLength, `a string of ${arg} bytes`);
          if (byteKey) {
            this.#strings.push({
              at: pos,
              end: next,
              major,
              indefinite: false,
              chunks: [pos + hlen, next],
              total: arg,
              byteKey,
              map,
            });
          }
          pos = next;
          if (this.#complete()) return this.#finish(pos);
          break;
        }
        case 4:
        case 5:
        case 6: {
          if (this.#nesting >= maxDepth) {
            throw new HandleError(
              "EMSGSIZE",
              `CBOR item is nested deeper than maxDepth of ${maxDepth} (at byte ${pos})`,
            );
          }
          if (ai === 31 && major === 6) throw notWellFormed("an indefinite-length tag", pos);
          const at = pos;
          const items = ai === 31 ? Infinity : major === 5 ? arg * 2 : major === 6 ? 1 : arg;
          // Each item takes at least one byte: a count that cannot fit fails now.
          this.#checkEnd(
            pos + hlen + (items === Infinity ? 0 : items),
            maxLength,
            items === Infinity
              ? "an indefinite-length container"
              : major === 4
              ? `an array of ${arg} items`
              : major === 5
              ? `a map of ${arg} pairs`
              : "a tag",
          );
          pos += hlen;
          if (items === 0) {
            if (this.#complete()) return this.#finish(pos);
            break;
          }
          const parentIs259 = top?.kind === TAG && top.tag === TAG_MAP && top.count === 0;
          const frame = this.#push(major === 4 ? ARRAY : major === 5 ? MAP : TAG, items, at);
          frame.tag = arg;
          frame.tagged = major === 5 && parentIs259;
          if (major === 6 && Number.isSafeInteger(arg) && !this.#settings.knownTag(arg)) {
            this.#unknownTags.add(arg);
          }
          break;
        }
      }
    }
    this.#pos = pos;
    // An unfinished item needs at least one more byte (a whole header when one is cut short).
    const need = pos < length ? headerNeed(bytes[pos]) : 1;
    this.#checkEnd(pos + need, maxLength, "the next header");
    return -1;
  }

  /**
   * The item's bytes as cborg should see them: `item` itself when nothing needs rewriting,
   * else a copy with indefinite strings made definite, byte-string keys that are valid UTF-8
   * made text, and tag 259 in front of each map that keeps a non-string key. O(item).
   *
   * @param item The item's bytes (its framing complete).
   * @returns The bytes to decode.
   */
  rewrite(item: Uint8Array): Uint8Array {
    if (this.#strings.length === 0 && this.#maps.length === 0) return item;
    const edits: (StringEdit | MapEdit)[] = [];
    let size = item.length;
    for (const s of this.#strings) {
      if (s.byteKey) {
        const payload = s.indefinite ? gather(item, s) : item.subarray(s.chunks[0], s.chunks[1]);
        if (isUtf8(payload)) s.major = 3;
        else if (s.map !== undefined) s.map.wrap = true;
      }
      if (s.indefinite) {
        size += headerLength(s.total) + s.total - (s.end - s.at);
        edits.push(s);
      } else if (s.major === 3) edits.push(s);
    }
    for (const m of this.#maps) {
      if (m.wrap) {
        size += TAG_MAP_HEADER.length;
        edits.push(m);
      }
    }
    if (edits.length === 0) return item;
    edits.sort((a, b) => a.at - b.at);
    const out = new Uint8Array(size);
    let from = 0;
    let o = 0;
    for (const e of edits) {
      out.set(item.subarray(from, e.at), o);
      o += e.at - from;
      from = e.at;
      if (!("chunks" in e)) {
        out.set(TAG_MAP_HEADER, o);
        o += TAG_MAP_HEADER.length;
      } else if (!e.indefinite) {
        out[o] = item[e.at] | 0x20; // major type 2 -> 3, the length unchanged
        o++;
        from++;
      } else {
        o = writeHeader(out, o, e.major, e.total);
        for (let i = 0; i < e.chunks.length; i += 2) {
          out.set(item.subarray(e.chunks[i], e.chunks[i + 1]), o);
          o += e.chunks[i + 1] - e.chunks[i];
        }
        from = e.end;
      }
    }
    out.set(item.subarray(from), o);
    return out;
  }

  #checkEnd(end: number, maxLength: number, what: string): number {
    if (end > maxLength || !Number.isSafeInteger(end)) {
      throw new HandleError(
        "EMSGSIZE",
        `CBOR item exceeds maxLength of ${maxLength} bytes: ${what} makes it at least ${end} bytes`,
      );
    }
    return end;
  }

  #push(kind: number, left: number, at: number): Frame {
    const i = ++this.#top;
    let frame = this.#frames[i];
    if (frame === undefined) {
      frame = this.#frames[i] = {
        kind,
        left,
        count: 0,
        at,
        tag: 0,
        tagged: false,
        map: undefined,
        str: undefined,
      };
    } else {
      frame.kind = kind;
      frame.left = left;
      frame.count = 0;
      frame.at = at;
      frame.tag = 0;
      frame.tagged = false;
      frame.map = undefined;
      frame.str = undefined;
    }
    if (kind !== CHUNKS) this.#nesting++;
    return frame;
  }

  #pop(): void {
    const frame = this.#frames[this.#top--];
    if (frame.kind !== CHUNKS) this.#nesting--;
    frame.map = undefined;
    frame.str = undefined;
  }

  /** One item ended: counts it in the enclosing frames; returns whether the whole item ended. */
  #complete(): boolean {
    while (this.#top >= 0) {
      const frame = this.#frames[this.#top];
      frame.count++;
      if (frame.left === Infinity || --frame.left > 0) return false;
      this.#pop();
    }
    return true;
  }

  #finish(end: number): number {
    this.#pos = end;
    this.#end = end;
    return end;
  }

  #mapEdit(frame: Frame): MapEdit {
    if (frame.map === undefined) {
      frame.map = { at: frame.at, wrap: false };
      // A map already inside tag 259 decodes to a Map: never wrap it twice.
      if (!frame.tagged) this.#maps.push(frame.map);
    }
    return frame.map;
  }
}

function headerNeed(ib: number): number {
  const ai = ib & 31;
  return ai >= 24 && ai <= 27 ? 1 + (1 << (ai - 24)) : 1;
}

function gather(item: Uint8Array, s: StringEdit): Uint8Array {
  const out = new Uint8Array(s.total);
  let o = 0;
  for (let i = 0; i < s.chunks.length; i += 2) {
    out.set(item.subarray(s.chunks[i], s.chunks[i + 1]), o);
    o += s.chunks[i + 1] - s.chunks[i];
  }
  return out;
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}
