/**
 * A third-party codec: the Redis serialization protocol (RESP2) as one value, `resp`, that is
 * both a read and a write type. `h.pushRead(resp, (h, value) => ...)` and
 * `h.pushWrite(resp, ["PING"])` are checked by the compiler exactly like the built-in types:
 * the types follow from the value, with no registration and no declaration merging.
 *
 * ```text
 * +OK\r\n                  simple string  -> "OK"
 * -ERR unknown\r\n         error          -> RespError
 * :1000\r\n                integer        -> 1000
 * $6\r\nfoobar\r\n         bulk string    -> Uint8Array (binary safe); $-1\r\n -> null
 * *2\r\n:1\r\n$1\r\nx\r\n  array          -> [1, Uint8Array]; *-1\r\n -> null
 * ```
 *
 * @module
 */
import { type Decoder, HandleError, NEED_MORE, type ReadBuffer } from "../mod.ts";
import { defineCodec, defineReadType, type ReadType, type WriteType } from "../mod.ts";

/** A RESP error reply (`-ERR ...`). */
export class RespError {
  /**
   * Makes an error reply.
   *
   * @param message The text after `-`.
   */
  constructor(readonly message: string) {}
}

/** Any RESP2 value. */
export type RespValue = string | number | null | Uint8Array | RespError | RespValue[];

/** Options of the `resp` read type. */
export interface RespOptions {
  /** The largest bulk string or array length accepted. @default {536870912} */
  maxLength?: number;
  /** The deepest array nesting accepted. @default {64} */
  maxDepth?: number;
}

const CR = 0x0d;
const encoder = new TextEncoder();

class Incomplete {}
const INCOMPLETE = new Incomplete();

/**
 * Makes a decoder of one RESP2 value. Each attempt parses from the start of the buffer and
 * consumes only when the whole value is there (cost O(value) per attempt).
 *
 * @param options Limits.
 * @returns The decoder.
 */
export function respDecoder(options: RespOptions = {}): Decoder<RespValue> {
  const maxLength = options.maxLength ?? 512 * 1024 * 1024;
  const maxDepth = options.maxDepth ?? 64;

  function line(buf: ReadBuffer, at: number): [string, number] {
    const cr = buf.indexOf(CR, at);
    if (cr < 0 || cr + 1 >= buf.length) throw INCOMPLETE;
    if (buf.at(cr + 1) !== 0x0a) throw new HandleError("EBADMSG", "RESP line without LF");
    return [buf.text(at, cr), cr + 2];
  }

  function length(text: string): number {
    if (!/^(-1|\d+)$/.test(text)) throw new HandleError("EBADMSG", `Bad RESP length "${text}"`);
    const n = Number(text);
    if (n > maxLength) {
      throw new HandleError("EMSGSIZE", `RESP length ${n} exceeds maxLength of ${maxLength}`);
    }
    return n;
  }

  function value(buf: ReadBuffer, at: number, depth: number): [RespValue, number] {
    if (at >= buf.length) throw INCOMPLETE;
    const type = buf.at(at);
    const [text, next] = line(buf, at + 1);
    switch (type) {
      case 0x2b: // +
        return [text, next];
      case 0x2d: // -
        return [new RespError(text), next];
      case 0x3a: // :
        if (!/^-?\d+$/.test(text)) throw new HandleError("EBADMSG", `Bad RESP integer "${text}"`);
        return [Number(text), next];
      case 0x24: { // $
        const n = length(text);
        if (n < 0) return [null, next];
        if (buf.length < next + n + 2) throw INCOMPLETE;
        return [buf.view(next, next + n).slice(), next + n + 2];
      }
      case 0x2a: { // *
        const n = length(text);
        if (n < 0) return [null, next];
        if (depth >= maxDepth) throw new HandleError("EMSGSIZE", "RESP arrays nested too deep");
        const items: RespValue[] = [];
        let pos = next;
        for (let i = 0; i < n; i++) {
          const [item, after] = value(buf, pos, depth + 1);
          items.push(item);
          pos = after;
        }
        return [items, pos];
      }
      default:
        throw new HandleError("EBADMSG", `Unknown RESP type byte ${type}`);
    }
  }

  return {
    decode(buf: ReadBuffer): RespValue | typeof NEED_MORE {
      try {
        const [v, end] = value(buf, 0, 0);
        buf.consume(end);
        return v;
      } catch (e) {
        if (e === INCOMPLETE) return NEED_MORE;
        throw e;
      }
    },
  };
}

/**
 * Encodes one RESP2 value (strings as bulk strings, the form commands take).
 *
 * @param v The value.
 * @returns Its bytes.
 */
export function encodeResp(v: RespValue): Uint8Array {
  const parts: Uint8Array[] = [];
  const put = (s: string) => parts.push(encoder.encode(s));
  const walk = (v: RespValue) => {
    if (v === null) put("$-1\r\n");
    else if (typeof v === "number") put(`:${Math.trunc(v)}\r\n`);
    else if (v instanceof RespError) put(`-${v.message.replace(/[\r\n]/g, " ")}\r\n`);
    else if (Array.isArray(v)) {
      put(`*${v.length}\r\n`);
      v.forEach(walk);
    } else {
      const bytes = typeof v === "string" ? encoder.encode(v) : v;
      put(`$${bytes.length}\r\n`);
      parts.push(bytes);
      put("\r\n");
    }
  };
  walk(v);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The type of {@linkcode resp}. */
export type RespType =
  & ReadType<[] | [options: RespOptions], RespValue, false>
  & WriteType<[value: RespValue]>;

/**
 * The `resp` read and write type: `h.pushRead(resp, [options,] (h, value) => ...)` reads one
 * RESP2 value; `h.pushWrite(resp, value)` writes one (strings as bulk strings).
 */
export const resp: RespType = defineCodec(
  defineReadType("resp", (_settings, options?: RespOptions) => respDecoder(options)),
  (_settings, value: RespValue) => encodeResp(value),
);
