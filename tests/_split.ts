/**
 * Helpers for codec tests: feed bytes to a decoder whole, split at every point, or one byte
 * at a time, and collect what it delivers (Go's slowReader, tokio's codec tests).
 */
import { type Decoder, NEED_MORE, ReadBuffer } from "../mod.ts";

/** What a run produced: the values, the error (if any) and the bytes left. */
export interface Outcome {
  values: unknown[];
  error?: { code: string; fatal: boolean };
  left: number;
}

/**
 * Appends each piece, decoding after each until `NEED_MORE`; then, with `eof`, calls
 * `decodeEof` (or `decode`) until `NEED_MORE`. Stops at the first error.
 */
export function run(make: () => Decoder<unknown>, pieces: Uint8Array[], eof = false): Outcome {
  const buf = new ReadBuffer();
  const decoder = make();
  const values: unknown[] = [];
  try {
    for (const piece of pieces) {
      buf.append(piece);
      let v;
      while ((v = decoder.decode(buf)) !== NEED_MORE) values.push(v);
    }
    if (eof) {
      const last = decoder.decodeEof?.bind(decoder) ?? decoder.decode.bind(decoder);
      let v;
      while ((v = last(buf)) !== NEED_MORE) values.push(v);
    }
  } catch (e) {
    const err = e as { code: string; fatal: boolean };
    return { values, error: { code: err.code, fatal: err.fatal }, left: buf.length };
  }
  return { values, left: buf.length };
}

/** Every way to cut `bytes` in two, plus one byte at a time. */
export function splits(bytes: Uint8Array): Uint8Array[][] {
  const out: Uint8Array[][] = [];
  for (let i = 0; i <= bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  out.push(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)));
  return out;
}

/** Cuts `wire` at the given points (each taken modulo its length + 1, sorted, deduplicated). */
export function cut(wire: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (wire.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const p of at) {
    pieces.push(wire.subarray(from, p));
    from = p;
  }
  pieces.push(wire.subarray(from));
  return pieces;
}

/** Runs `bytes` whole, at every split point and byte by byte; returns the outcome, asserting all agree. */
export function sameEverySplit(
  make: () => Decoder<unknown>,
  bytes: Uint8Array,
  eof = false,
): Outcome {
  const whole = run(make, [bytes], eof);
  // After an error the bytes left depend on how many had arrived: compare values and error.
  const key = (o: Outcome) => JSON.stringify(o.error ? { ...o, left: undefined } : o, replacer);
  const expected = key(whole);
  for (const pieces of splits(bytes)) {
    const got = key(run(make, pieces, eof));
    if (got !== expected) {
      throw new Error(
        `Split at ${pieces.map((p) => p.length).join("+")} gave ${got}, whole gave ${expected}`,
      );
    }
  }
  return whole;
}

function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { bytes: Array.from(value) } : value;
}

/** Concatenates byte arrays. */
export function concat(...parts: (Uint8Array | string)[]): Uint8Array {
  const arrays = parts.map((p) => typeof p === "string" ? new TextEncoder().encode(p) : p);
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
