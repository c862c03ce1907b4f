/**
 * The measured consumers of bench/main.ts: a raw `Deno.Conn` read loop and the Handle variants.
 * Each one owns the connection it is given, reads it to end of input, closes it, and returns
 * what it counted so the caller can check that nothing was lost. The Handle comes from the
 * library of `BENCH_LIB` (see bench/lib.ts).
 *
 * @module
 */
import type { Handle as HandleType, HandleError } from "../mod.ts";
import { loadLib } from "./lib.ts";

const lib = await loadLib();
const { Handle, lineDecoder, netstringDecoder } = lib;

/** What a reader counted: units (lines, records or bytes) and the summed size of their values. */
export interface Counted {
  units: number;
  /** Sum of `line.length` (lines) or payload bytes (records); checked against the pattern. */
  size?: number;
}

/** A connection a reader is given: plain TCP, or TLS from `Deno.listenTls`. */
export type Conn = Deno.TcpConn | Deno.TlsConn;

/** One measured consumer of a connection. */
export type Reader = (conn: Conn) => Promise<Counted>;

/** Size of the raw loop's buffer; also the Handle's default `maxReadSize`. */
export const RAW_READ_SIZE = 128 * 1024;

/** Bytes read by a raw `conn.read()` loop into one 128 KiB buffer. */
export async function raw(conn: Conn): Promise<Counted> {
  const buf = new Uint8Array(RAW_READ_SIZE);
  let bytes = 0;
  try {
    for (let n; (n = await conn.read(buf)) !== null;) bytes += n;
  } finally {
    conn.close();
  }
  return { units: bytes };
}

/**
 * No Handle: 64 KiB arrays of its own, each fresh and read into directly until full (what a
 * chunk the program may keep costs on Deno; the bound of `pushRead("chunk", 65536)`).
 */
export async function freshChunks(conn: Conn): Promise<Counted> {
  let bytes = 0;
  try {
    for (let n: number | null = 0; n !== null;) {
      const chunk = new Uint8Array(65536);
      let filled = 0;
      while (filled < chunk.length && (n = await conn.read(chunk.subarray(filled))) !== null) {
        filled += n;
      }
      bytes += filled;
    }
  } finally {
    conn.close();
  }
  return { units: bytes };
}

/**
 * Runs `body` on a Handle with default options (plus `options`) until it settles, then
 * destroys the handle and waits for its I/O to stop.
 */
async function withHandle(
  conn: Conn,
  body: (h: HandleType, fail: (e: HandleError) => void) => Promise<Counted>,
  options: ConstructorParameters<typeof Handle>[1] = {},
): Promise<Counted> {
  let fail!: (e: HandleError) => void;
  const failed = new Promise<never>((_, reject) => fail = reject);
  const h = new Handle(conn, { onError: (_h, e) => fail(e), ...options });
  try {
    return await Promise.race([body(h, fail), failed]);
  } finally {
    h.destroy();
    await h.closed.catch(() => {});
  }
}

/**
 * Lines from `for await (const line of h.iterate("line"))`; `options` are added to the
 * handle's (such as `tls: "accept"` on a plain connection).
 */
export function iterateLines(
  conn: Conn,
  options: ConstructorParameters<typeof Handle>[1] = {},
): Promise<Counted> {
  return withHandle(conn, iterateCount, options);
}

/** Counts the lines of `for await (const line of h.iterate("line"))`. */
async function iterateCount(h: HandleType): Promise<Counted> {
  let units = 0;
  let size = 0;
  for await (const line of h.iterate("line")) {
    units++;
    size += line.length;
  }
  return { units, size };
}

/**
 * Lines from `for await (const run of h.iterate("lines"))`: one step per run of lines;
 * `options` as for {@linkcode iterateLines}.
 */
export function iterateLineRuns(
  conn: Conn,
  options: ConstructorParameters<typeof Handle>[1] = {},
): Promise<Counted> {
  return withHandle(conn, iterateRunCount, options);
}

/** Counts the lines of `for await (const run of h.iterate("lines"))`. */
async function iterateRunCount(h: HandleType): Promise<Counted> {
  let units = 0;
  let size = 0;
  for await (const run of h.iterate("lines")) {
    units += run.length;
    for (let i = 0; i < run.length; i++) size += run[i].length;
  }
  return { units, size };
}

/**
 * Lines from `iterate` on a handle that connects itself (`Handle.connect` with `options`):
 * the client role; `runs` takes a run of lines per step (`iterate("lines")`).
 */
export async function connectLines(
  port: number,
  options: ConstructorParameters<typeof Handle>[1] = {},
  runs = false,
): Promise<Counted> {
  const h = Handle.connect({ hostname: "127.0.0.1", port }, options);
  try {
    return await (runs ? iterateRunCount(h) : iterateCount(h));
  } finally {
    h.destroy();
    await h.closed.catch(() => {});
  }
}

/**
 * Values decoded inside `onRead` by one `decoder` used directly on `h.rbuf`, each counted as a
 * unit of `sizeOf(value)`.
 */
function decodedInOnRead<V>(
  conn: Conn,
  decoder: { decode(buf: HandleType["rbuf"]): V | typeof lib.NEED_MORE },
  sizeOf: (value: V) => number,
): Promise<Counted> {
  let units = 0;
  let size = 0;
  let done!: (c: Counted) => void;
  const finished = new Promise<Counted>((resolve) => done = resolve);
  return withHandle(conn, () => finished, {
    onRead(h) {
      for (let v; (v = decoder.decode(h.rbuf)) !== lib.NEED_MORE;) {
        units++;
        size += sizeOf(v as V);
      }
    },
    onEof: () => done({ units, size }),
  });
}

/** Lines decoded inside `onRead` by a `lineDecoder` used directly on `h.rbuf`. */
export function onReadLines(conn: Conn): Promise<Counted> {
  return decodedInOnRead(conn, lineDecoder(), (line) => line[0].length);
}

/**
 * Values from `push(h, cb)` (a `pushRead` with a literal type, as a program writes it),
 * re-pushed in every callback with the same callback, each counted by `count`. The read still
 * queued at end of input fails with `EPIPE` (AnyEvent semantics): with nothing left in rbuf,
 * that is the end.
 */
function rePushed<V>(
  conn: Conn,
  push: (h: HandleType, cb: (h: HandleType, value: V) => void) => void,
  count: (counted: Required<Counted>, value: V) => void,
): Promise<Counted> {
  const counted = { units: 0, size: 0 };
  return withHandle(conn, (h) =>
    new Promise((resolve, reject) => {
      h.onError = (h, e) =>
        e.code === "EPIPE" && h.rbuf.length === 0 ? resolve(counted) : reject(e);
      const onValue = (h: HandleType, value: V) => {
        count(counted, value);
        push(h, onValue);
      };
      push(h, onValue);
    }));
}

/** Lines from `pushRead("line", cb)`, re-pushed in every callback. */
export function pushReadLines(conn: Conn): Promise<Counted> {
  return rePushed<string>(
    conn,
    (h, cb) => h.pushRead("line", cb),
    (c, line) => (c.units++, c.size += line.length),
  );
}

/** Counts a run of lines. */
function countRun(c: Required<Counted>, run: string[]): void {
  c.units += run.length;
  for (let i = 0; i < run.length; i++) c.size += run[i].length;
}

/** Lines from `pushRead("lines", cb)`, re-pushed in every callback: one call per run. */
export function pushReadLineRuns(conn: Conn): Promise<Counted> {
  return rePushed<string[]>(conn, (h, cb) => h.pushRead("lines", cb), countRun);
}

/** Lines from `pushRead("lines", "\n", cb)` (a string marker), re-pushed: one call per run. */
export function pushReadStringEolLineRuns(conn: Conn): Promise<Counted> {
  return rePushed<string[]>(conn, (h, cb) => h.pushRead("lines", "\n", cb), countRun);
}

/**
 * Lines from `pushRead("regex", /\n/, cb)`, re-pushed in every callback: a pipelined burst of
 * regex frames (size: the data without its line feed, as for lines).
 */
export function pushReadRegexLines(conn: Conn): Promise<Counted> {
  const eol = /\n/;
  return rePushed<string>(
    conn,
    (h, cb) => h.pushRead("regex", eol, cb),
    (c, data) => (c.units++, c.size += data.length - 1),
  );
}

/** Lines from `pushRead("line", "\n", cb)` (a string marker), re-pushed in every callback. */
export function pushReadStringEolLines(conn: Conn): Promise<Counted> {
  return rePushed<string>(
    conn,
    (h, cb) => h.pushRead("line", "\n", cb),
    (c, line) => (c.units++, c.size += line.length),
  );
}

/** Lines from `pushRead("line", /\r?\n/, cb)` (a RegExp marker), re-pushed in every callback. */
export function pushReadRegExpLines(conn: Conn): Promise<Counted> {
  const eol = /\r?\n/;
  return rePushed<string>(
    conn,
    (h, cb) => h.pushRead("line", eol, cb),
    (c, line) => (c.units++, c.size += line.length),
  );
}

/** Bytes from `pushRead("chunk", 65536, cb)`, re-pushed in every callback. */
export function pushReadChunks(conn: Conn): Promise<Counted> {
  return rePushed<Uint8Array>(
    conn,
    (h, cb) => h.pushRead("chunk", 65536, cb),
    (c, chunk) => c.units += chunk.length,
  );
}

/** Netstring payloads from `pushRead("netstring", cb)`, re-pushed in every callback. */
export function pushReadNetstrings(conn: Conn): Promise<Counted> {
  return rePushed<Uint8Array>(
    conn,
    (h, cb) => h.pushRead("netstring", cb),
    (c, payload) => (c.units++, c.size += payload.length),
  );
}

/** Netstring payloads decoded inside `onRead` by a `netstringDecoder` used on `h.rbuf`. */
export function onReadNetstrings(conn: Conn): Promise<Counted> {
  return decodedInOnRead(conn, netstringDecoder(), (payload) => payload.length);
}

/** Netstring payloads from `h.iterate("netstring")`; size is the payload bytes. */
export function iterateNetstrings(conn: Conn): Promise<Counted> {
  return withHandle(conn, async (h) => {
    let units = 0;
    let size = 0;
    for await (const payload of h.iterate("netstring")) {
      units++;
      size += payload.length;
    }
    return { units, size };
  });
}

/** JSON values from `h.iterate("json")`. */
export function iterateJson(conn: Conn): Promise<Counted> {
  return withHandle(conn, async (h) => {
    let units = 0;
    for await (const _ of h.iterate("json")) units++;
    return { units };
  });
}
