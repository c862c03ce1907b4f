/**
 * A memcached client over the binary protocol, framed by `lengthField`: every request and
 * response has a 24-byte header whose bytes 8 to 11 hold the length of the body after it, and
 * 12 header bytes (opaque, CAS) sit between that field and the body it counts.
 *
 * ```text
 *  0      1       2        4         5          6                8            12       16    24
 * +-------+------+--------+---------+----------+----------------+------------+--------+-----+
 * | magic | op   | keylen | extlen  | datatype | vbucket/status | total body | opaque | cas |
 * +-------+------+--------+---------+----------+----------------+------------+--------+-----+
 * | extras (extlen) | key (keylen) | value (total body - extlen - keylen)                   |
 * +-----------------------------------------------------------------------------------------+
 *   lengthField({ offset: 8, size: 4, adjust: 12 })
 * ```
 *
 * Requests are written with `h.pushWrite(memcachedFrame, header8, body)`, where `body` is
 * everything after the length field (opaque, CAS, extras, key, value); each response is one
 * frame read with `h.iterate(memcachedFrame)`. Requests are pipelined: each gets an opaque
 * number, and a response settles the requests in order up to its own. Quiet requests (SETQ)
 * get no response when they succeed, so a later response (a NOOP's) is what says they did.
 *
 * Run as a program against a memcached started with `-B binary` (or the default `-B auto`):
 *
 *     deno run --allow-net examples/memcached.ts [HOST:PORT]    # default 127.0.0.1:11211
 *
 * It sets, increments, reads and deletes a counter, sends 10,000 quiet sets pipelined and a
 * NOOP, and leaves the key `anyevent:example` set (the 10,000 `anyevent:example:bulk:N` keys
 * expire after 5 minutes).
 *
 * @module
 */
import { Handle, lengthField, type LengthFieldCodec } from "../mod.ts";

/** The framing of memcached's binary protocol. */
export const memcachedFrame: LengthFieldCodec = lengthField({ offset: 8, size: 4, adjust: 12 });

/** The opcodes this client sends. */
export const Opcode = {
  GET: 0x00,
  SET: 0x01,
  DELETE: 0x04,
  INCREMENT: 0x05,
  NOOP: 0x0a,
  SETQ: 0x11,
} as const;

/** Response statuses, as the protocol documents them. */
const STATUS: Record<number, string> = {
  0x00: "No error",
  0x01: "Key not found",
  0x02: "Key exists",
  0x03: "Value too large",
  0x04: "Invalid arguments",
  0x05: "Item not stored",
  0x06: "Incr/Decr on non-numeric value",
  0x81: "Unknown command",
  0x82: "Out of memory",
};

const REQUEST = 0x80;
const RESPONSE = 0x81;
const encoder = new TextEncoder();
const toBytes = (v: string | Uint8Array) => typeof v === "string" ? encoder.encode(v) : v;

/** One response, its header fields decoded. */
export interface MemcachedResponse {
  opcode: number;
  status: number;
  opaque: number;
  cas: bigint;
  extras: Uint8Array;
  key: Uint8Array;
  value: Uint8Array;
}

/** An error status from the server. */
export class MemcachedError extends Error {
  /**
   * Makes the error of a response.
   *
   * @param status The response's status.
   * @param opcode The request's opcode.
   * @param detail The response's value (the server's message), if any.
   */
  constructor(readonly status: number, readonly opcode: number, detail = "") {
    const name = STATUS[status] ?? "Unknown status";
    super(
      `memcached status 0x${status.toString(16).padStart(4, "0")} (${name})` +
        ` for opcode 0x${opcode.toString(16).padStart(2, "0")}${detail ? `: ${detail}` : ""}`,
    );
    this.name = "MemcachedError";
  }
}

/**
 * Decodes a response frame (the whole frame, header included).
 *
 * @param frame One frame read with {@linkcode memcachedFrame}.
 * @returns Its fields.
 * @throws {Error} If it is no response (wrong magic) or its lengths do not add up.
 */
export function parseResponse(frame: Uint8Array): MemcachedResponse {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame[0] !== RESPONSE) {
    throw new Error(`Not a memcached response: magic 0x${frame[0].toString(16)}`);
  }
  const keyLength = view.getUint16(2);
  const extrasLength = frame[4];
  if (24 + extrasLength + keyLength > frame.length) {
    throw new Error(`memcached response lengths do not add up (${frame.length} bytes)`);
  }
  const key = 24 + extrasLength;
  return {
    opcode: frame[1],
    status: view.getUint16(6),
    opaque: view.getUint32(12),
    cas: view.getBigUint64(16),
    extras: frame.subarray(24, key),
    key: frame.subarray(key, key + keyLength),
    value: frame.subarray(key + keyLength),
  };
}

/** What a request carries besides its opcode. */
interface Request {
  key?: string | Uint8Array;
  extras?: Uint8Array;
  value?: string | Uint8Array;
  cas?: bigint;
}

/** A request waiting for its response (or, if quiet, for a later one). */
interface Pending {
  opaque: number;
  opcode: number;
  quiet: boolean;
  resolve(response: MemcachedResponse | undefined): void;
  reject(error: unknown): void;
}

/** An item as GET returns it. */
export interface MemcachedItem {
  value: Uint8Array;
  flags: number;
  cas: bigint;
}

/** Options of a SET. */
export interface SetOptions {
  /** Stored with the item and returned by GET. @default {0} */
  flags?: number;
  /** Seconds until it expires (0: never). @default {0} */
  expiration?: number;
  /** Store only if the item's CAS is this (0: always). @default {0n} */
  cas?: bigint;
}

/**
 * A memcached binary-protocol connection. Every method writes its request at once (requests
 * made in one synchronous block leave in one write) and resolves when its response arrives.
 */
export class MemcachedClient {
  readonly #h: Handle;
  readonly #pending: Pending[] = [];
  #opaque = 0;
  readonly #reading: Promise<void>;

  /**
   * Wraps a connection to memcached.
   *
   * @param conn A connection to the server.
   */
  constructor(conn: Deno.Conn) {
    this.#h = new Handle(conn, { noDelay: true });
    this.#reading = this.#read();
  }

  /**
   * Connects to a server.
   *
   * @param hostname The server's host.
   * @param port The server's port.
   * @returns The client.
   */
  static async connect(hostname: string, port: number): Promise<MemcachedClient> {
    return new MemcachedClient(await Deno.connect({ hostname, port }));
  }

  async #read(): Promise<void> {
    let failure: unknown = new Error("memcached closed the connection");
    try {
      for await (const frame of this.#h.iterate(memcachedFrame)) this.#settle(parseResponse(frame));
    } catch (e) {
      failure = e;
      this.#h.destroy();
    }
    for (const p of this.#pending.splice(0)) p.reject(failure);
  }

  /** Settles the requests in order up to the response's own; quiet ones before it succeeded. */
  #settle(response: MemcachedResponse): void {
    for (let p; (p = this.#pending.shift()) !== undefined;) {
      if (p.opaque === response.opaque) {
        if (p.quiet) p.reject(new MemcachedError(response.status, p.opcode, text(response.value)));
        else p.resolve(response);
        return;
      }
      if (!p.quiet) {
        throw new Error(`memcached answered request ${response.opaque} before ${p.opaque}`);
      }
      p.resolve(undefined);
    }
    throw new Error(`memcached sent a response to no request (opaque ${response.opaque})`);
  }

  #request(
    opcode: number,
    request: Request,
    quiet = false,
  ): Promise<MemcachedResponse | undefined> {
    const key = toBytes(request.key ?? "");
    const extras = request.extras ?? new Uint8Array();
    const value = toBytes(request.value ?? "");
    const opaque = this.#opaque = (this.#opaque + 1) >>> 0;
    const header = new Uint8Array([
      REQUEST,
      opcode,
      key.length >> 8,
      key.length & 255,
      extras.length,
      0,
      0,
      0,
    ]);
    // What follows the length field: opaque and CAS (the 12 bytes of adjust), then the body.
    const body = new Uint8Array(12 + extras.length + key.length + value.length);
    const view = new DataView(body.buffer);
    view.setUint32(0, opaque);
    view.setBigUint64(4, request.cas ?? 0n);
    body.set(extras, 12);
    body.set(key, 12 + extras.length);
    body.set(value, 12 + extras.length + key.length);
    this.#h.pushWrite(memcachedFrame, header, body);
    return new Promise((resolve, reject) => {
      this.#pending.push({ opaque, opcode, quiet, resolve, reject });
    });
  }

  /** A response's status as an error unless it is 0 or one of `expected`. */
  #check(response: MemcachedResponse | undefined, opcode: number, ...expected: number[]) {
    if (response === undefined) throw new Error("a request that is not quiet got no response");
    if (response.status !== 0 && !expected.includes(response.status)) {
      throw new MemcachedError(response.status, opcode, text(response.value));
    }
    return response;
  }

  /**
   * GET: an item, or `undefined` if there is none.
   *
   * @param key The key.
   * @returns The item.
   */
  async get(key: string): Promise<MemcachedItem | undefined> {
    const r = this.#check(await this.#request(Opcode.GET, { key }), Opcode.GET, 1);
    if (r.status === 1) return undefined;
    const flags = r.extras.length === 4
      ? new DataView(r.extras.buffer, r.extras.byteOffset).getUint32(0)
      : 0;
    return { value: r.value, flags, cas: r.cas };
  }

  /**
   * SET: stores an item.
   *
   * @param key The key.
   * @param value The value (a string is UTF-8).
   * @param options Flags, expiration and CAS.
   * @returns The item's new CAS.
   */
  async set(key: string, value: string | Uint8Array, options: SetOptions = {}): Promise<bigint> {
    const r = this.#check(
      await this.#request(Opcode.SET, setRequest(key, value, options)),
      Opcode.SET,
    );
    return r.cas;
  }

  /**
   * SETQ: stores an item without a response when it succeeds. The promise resolves when a
   * later request's response shows that the server went past it (follow a run of quiet sets
   * with {@linkcode MemcachedClient.noop}), and rejects with the error the server sent for it.
   *
   * @param key The key.
   * @param value The value (a string is UTF-8).
   * @param options Flags, expiration and CAS.
   * @returns When it is known to be stored.
   */
  async setQuiet(key: string, value: string | Uint8Array, options: SetOptions = {}): Promise<void> {
    await this.#request(Opcode.SETQ, setRequest(key, value, options), true);
  }

  /**
   * DELETE: removes an item.
   *
   * @param key The key.
   * @returns Whether there was one.
   */
  async delete(key: string): Promise<boolean> {
    const r = this.#check(await this.#request(Opcode.DELETE, { key }), Opcode.DELETE, 1);
    return r.status === 0;
  }

  /**
   * INCREMENT: adds to a counter (a decimal value) and returns its new value.
   *
   * @param key The key.
   * @param delta What to add.
   * @param initial The value to create the counter with if it is missing (then `delta` is not
   * added); without it a missing counter gives `undefined`.
   * @returns The new value, or `undefined`.
   */
  async incr(key: string, delta: bigint = 1n, initial?: bigint): Promise<bigint | undefined> {
    const extras = new Uint8Array(20);
    const view = new DataView(extras.buffer);
    view.setBigUint64(0, delta);
    view.setBigUint64(8, initial ?? 0n);
    view.setUint32(16, initial === undefined ? 0xffffffff : 0); // all ones: do not create
    const r = this.#check(
      await this.#request(Opcode.INCREMENT, { key, extras }),
      Opcode.INCREMENT,
      1,
    );
    if (r.status === 1) return undefined;
    return new DataView(r.value.buffer, r.value.byteOffset, 8).getBigUint64(0);
  }

  /**
   * NOOP: resolves once the server has handled every request sent before it.
   *
   * @returns When it is answered.
   */
  async noop(): Promise<void> {
    this.#check(await this.#request(Opcode.NOOP, {}), Opcode.NOOP);
  }

  /**
   * Half-closes the connection and waits for the server to close its side; requests still
   * unanswered reject.
   */
  async close(): Promise<void> {
    this.#h.pushShutdown();
    await this.#reading;
    this.#h.destroy();
    await this.#h.closed.catch(() => {});
  }
}

function setRequest(key: string, value: string | Uint8Array, options: SetOptions): Request {
  const extras = new Uint8Array(8);
  const view = new DataView(extras.buffer);
  view.setUint32(0, options.flags ?? 0);
  view.setUint32(4, options.expiration ?? 0);
  return { key, extras, value, cas: options.cas };
}

function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

// The program: `deno run --allow-net examples/memcached.ts [HOST:PORT]`.

const USAGE = "usage: deno run --allow-net examples/memcached.ts [HOST:PORT]";
/** The key the program leaves set. */
export const EXAMPLE_KEY = "anyevent:example";
/** The value it leaves there. */
export const EXAMPLE_VALUE = "héllo from @anyevent/handle";
/** The flags it stores with it. */
export const EXAMPLE_FLAGS = 42;
/** How many quiet sets it pipelines. */
export const BULK = 10_000;
/** The key and value of bulk set `i`. */
export const bulkItem = (i: number): [string, string] => [`${EXAMPLE_KEY}:bulk:${i}`, `value ${i}`];

/** Runs the session, printing each request and its result. */
export async function runExample(
  client: MemcachedClient,
  print: (line: string) => void,
): Promise<void> {
  const counter = `${EXAMPLE_KEY}:counter`;
  const show = (item: MemcachedItem | undefined) =>
    item === undefined
      ? "(not found)"
      : `${JSON.stringify(text(item.value))} (flags ${item.flags})`;

  print(`> SET ${counter} "10"`);
  await client.set(counter, "10");
  print("stored");
  print(`> INCR ${counter} 5`);
  print(String(await client.incr(counter, 5n)));
  print(`> GET ${counter}`);
  print(show(await client.get(counter)));
  print(`> DELETE ${counter}`);
  print((await client.delete(counter)) ? "deleted" : "(not found)");
  print(`> DELETE ${counter}`);
  print((await client.delete(counter)) ? "deleted" : "(not found)");
  print(`> INCR ${counter} 1 (no initial value)`);
  print(String(await client.incr(counter, 1n) ?? "(not found)"));
  print(`> INCR ${counter} 1 (initial value 100)`);
  print(String(await client.incr(counter, 1n, 100n)));

  print(`> SET ${EXAMPLE_KEY} ${JSON.stringify(EXAMPLE_VALUE)} (flags ${EXAMPLE_FLAGS})`);
  await client.set(EXAMPLE_KEY, EXAMPLE_VALUE, { flags: EXAMPLE_FLAGS });
  print("stored");
  print(`> INCR ${EXAMPLE_KEY} 1`);
  await client.incr(EXAMPLE_KEY, 1n).then(
    (value) => print(String(value)),
    (e) => print(`(error) ${(e as Error).message}`), // the connection goes on
  );
  print(`> GET ${EXAMPLE_KEY}`);
  print(show(await client.get(EXAMPLE_KEY)));

  print(
    `> SETQ ${EXAMPLE_KEY}:bulk:0 .. :${BULK - 1} (x${BULK}, pipelined, expire in 300 s), NOOP`,
  );
  const sets: Promise<void>[] = [];
  for (let i = 0; i < BULK; i++) {
    const [key, value] = bulkItem(i);
    sets.push(client.setQuiet(key, value, { expiration: 300 }));
  }
  await client.noop();
  const results = await Promise.allSettled(sets);
  const failed = results.filter((r) => r.status === "rejected").length;
  print(`${BULK - failed} stored, ${failed} failed, then the NOOP's response`);
  for (const i of [0, BULK - 1]) {
    const [key] = bulkItem(i);
    print(`> GET ${key}`);
    print(show(await client.get(key)));
  }
  await client.delete(counter);
}

/** Parses `HOST:PORT` or `[v6 address]:PORT`; undefined if it is neither. */
function parseAddress(text: string): { hostname: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || port < 1 || port > 65535) return undefined;
  return { hostname: m[1] ?? m[2], port };
}

if (import.meta.main) {
  const address = Deno.args.length === 0
    ? { hostname: "127.0.0.1", port: 11211 }
    : Deno.args.length === 1
    ? parseAddress(Deno.args[0])
    : undefined;
  if (address === undefined) {
    console.error(USAGE);
    Deno.exit(2);
  }
  let client: MemcachedClient | undefined;
  try {
    client = await MemcachedClient.connect(address.hostname, address.port);
    await runExample(client, (line) => console.log(line));
    await client.close();
  } catch (e) {
    console.error(`memcached: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
