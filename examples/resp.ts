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
 * Run as a program, it is a client for a real Redis server (the client code is at the end of
 * this file): PING, SET, GET, then 100 INCRs pipelined, printed as redis-cli prints replies.
 *
 *     deno run --allow-net examples/resp.ts [[host:]port]    # default 127.0.0.1:6379
 *
 * @module
 */
import { type Decoder, HandleError, NEED_MORE, type ReadBuffer } from "../mod.ts";
import { defineCodec, defineReadType, Handle, type ReadType, type WriteType } from "../mod.ts";

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
  defineReadType("resp", (_settings, options?: RespOptions) => respDecoder(options), {
    maxArgs: 1,
  }),
  (_settings, value: RespValue) => encodeResp(value),
  { maxArgs: 1 },
);

// The client, run as `deno run --allow-net examples/resp.ts [[host:]port]`. It writes and then
// deletes two keys, anyevent-handle:example:greeting and anyevent-handle:example:counter.

const USAGE = "usage: deno run --allow-net examples/resp.ts [[host:]port]";
const GREETING = "anyevent-handle:example:greeting";
const COUNTER = "anyevent-handle:example:counter";
const PIPELINED = 100;

/** A reply as redis-cli shows it: `OK`, `"text"`, `(integer) 1`, `(nil)`, `(error) ...`. */
function show(v: RespValue): string {
  if (v === null) return "(nil)";
  if (typeof v === "number") return `(integer) ${v}`;
  if (typeof v === "string") return v;
  if (v instanceof RespError) return `(error) ${v.message}`;
  if (v instanceof Uint8Array) return JSON.stringify(new TextDecoder().decode(v));
  if (v.length === 0) return "(empty array)";
  return v.map((item, i) => `${i + 1}) ${show(item)}`).join("\n");
}

/** A command as typed at redis-cli: arguments with spaces or quotes are quoted. */
function showCommand(args: string[]): string {
  return args.map((a) => /^[\w:.-]+$/.test(a) ? a : JSON.stringify(a)).join(" ");
}

/** Parses `host:port`, `[v6 address]:port` or `port`; undefined if it is none of them. */
function parseAddress(text: string): { hostname: string; port: number } | undefined {
  const m = /^(?:(?:\[([^\]]+)\]|([^:\[\]]+)):)?(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || port < 1 || port > 65535) return undefined;
  return { hostname: m[1] ?? m[2] ?? "127.0.0.1", port };
}

/**
 * Talks to the server: each command is one `pushWrite(resp, [...])` and its reply one
 * `read(resp)`; the INCRs are all pushed before the first reply is read, so they leave
 * together and the server answers them in one stream, in order.
 */
async function runClient(
  hostname: string,
  port: number,
  print: (line: string) => void,
): Promise<void> {
  const conn = await Deno.connect({ hostname, port }).catch((e) => {
    throw new Error(`cannot connect to ${hostname}:${port}: ${(e as Error).message}`);
  });
  const h = new Handle(conn, { noDelay: true, timeout: 30 });
  const call = async (...args: string[]): Promise<RespValue> => {
    print(`> ${showCommand(args)}`);
    h.pushWrite(resp, args);
    const reply = await h.read(resp);
    print(show(reply));
    return reply;
  };
  try {
    await call("PING");
    await call("SET", GREETING, "héllo, wörld");
    await call("GET", GREETING);
    await call("SET", COUNTER, "0");

    print(`> INCR ${COUNTER}   (x${PIPELINED}, all sent before reading a reply)`);
    for (let i = 0; i < PIPELINED; i++) h.pushWrite(resp, ["INCR", COUNTER]);
    const replies: RespValue[] = [];
    for (let i = 0; i < PIPELINED; i++) replies.push(await h.read(resp));
    const inOrder = replies.every((r, i) => r === i + 1);
    if (!inOrder) throw new Error(`unexpected INCR replies: ${replies.map(show).join(", ")}`);
    print(
      `${show(replies[0])} ... ${show(replies[PIPELINED - 1])}   (${PIPELINED} replies, in order)`,
    );

    await call("GET", COUNTER);
    await call("INCR", GREETING); // an error reply is a value, and the connection goes on
    await call("DEL", GREETING, COUNTER);
    await call("GET", GREETING);
  } finally {
    h.destroy();
    await h.closed.catch(() => {});
  }
}

if (import.meta.main) {
  const args = Deno.args;
  const address = args.length === 0
    ? { hostname: "127.0.0.1", port: 6379 }
    : args.length === 1
    ? parseAddress(args[0])
    : undefined;
  if (address === undefined) {
    console.error(USAGE);
    Deno.exit(2);
  }
  try {
    await runClient(address.hostname, address.port, (line) => console.log(line));
  } catch (e) {
    console.error(`resp: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
