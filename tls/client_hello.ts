/**
 * The server name a TLS client asks for (SNI, RFC 6066), read from its ClientHello before the
 * TLS library sees a byte: the accepting side picks its certificate from it, so the session
 * starts with the right one and no certificate callback is needed.
 *
 * The ClientHello is the first handshake message, carried in one or more handshake records
 * (content type 22):
 *
 * | field                  | size                | notes                            |
 * | ---------------------- | ------------------- | -------------------------------- |
 * | msg type, length       | 1, 3                | type 1 (client_hello)            |
 * | version, random        | 2, 32               |                                  |
 * | session id             | 1 + n               |                                  |
 * | cipher suites          | 2 + n               |                                  |
 * | compression methods    | 1 + n               |                                  |
 * | extensions (optional)  | 2 + n               | each: type 2, length 2, data     |
 *
 * The `server_name` extension (type 0) is a list, 2 + n bytes, of entries: name type 1 (0 is
 * host_name), length 2, the name.
 *
 * @module
 */
import { NEED_MORE } from "../base/decoder.ts";
import { recordPrefix } from "./records.ts";

const RECORD_HEADER = 5;
const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
/** The largest ClientHello looked at; a longer one goes to TLS unread (rustls's own limit). */
const MAX_HELLO = 0xffff;
const SERVER_NAME = 0;
const HOST_NAME = 0;

/**
 * The server name in the ClientHello at the front of a TLS stream.
 *
 * @param bytes The bytes received so far, from the start of the stream.
 * @returns The name as sent (`""` when the ClientHello names none); `NEED_MORE` while the
 * bytes can still become a whole ClientHello; `undefined` when they are not one (not TLS
 * records, not a ClientHello, too long, malformed): then the TLS library is the judge.
 */
export function clientHelloServerName(bytes: Uint8Array): string | typeof NEED_MORE | undefined {
  const { length, valid } = recordPrefix(bytes);
  // The handshake bytes of the whole records at the front, until the message is complete.
  const parts: Uint8Array[] = [];
  let have = 0;
  let want = Infinity;
  for (let at = 0; at < length && have < want;) {
    const size = (bytes[at + 3] << 8) | bytes[at + 4];
    if (bytes[at] !== HANDSHAKE || size === 0) return undefined;
    parts.push(bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + size));
    have += size;
    at += RECORD_HEADER + size;
    if (want === Infinity && have >= 4) {
      const head = join(parts, 4);
      if (head[0] !== CLIENT_HELLO) return undefined;
      want = 4 + ((head[1] << 16) | (head[2] << 8) | head[3]);
      if (want > 4 + MAX_HELLO) return undefined;
    }
  }
  if (have < want) return valid ? NEED_MORE : undefined;
  return serverName(join(parts, want).subarray(4));
}

/** The first `n` bytes of `parts`, joined. */
function join(parts: Uint8Array[], n: number): Uint8Array {
  if (parts[0].length >= n) return parts[0].subarray(0, n);
  const out = new Uint8Array(n);
  let at = 0;
  for (const part of parts) {
    if (at === n) break;
    const take = Math.min(part.length, n - at);
    out.set(part.subarray(0, take), at);
    at += take;
  }
  return out;
}

/** The host name in a ClientHello's body, `""` for none, `undefined` if malformed. */
function serverName(body: Uint8Array): string | undefined {
  const r = new Reader(body);
  r.take(2 + 32); // version, random
  r.take(r.u8()); // session id
  r.take(r.u16()); // cipher suites
  r.take(r.u8()); // compression methods
  if (r.done) return r.ok ? "" : undefined; // no extensions at all
  const extensions = new Reader(r.take(r.u16()));
  if (!r.ok) return undefined;
  while (!extensions.done) {
    const type = extensions.u16();
    const data = extensions.take(extensions.u16());
    if (!extensions.ok) return undefined;
    if (type !== SERVER_NAME) continue;
    if (data.length < 2 || ((data[0] << 8) | data[1]) !== data.length - 2) return undefined;
    const list = new Reader(data.subarray(2));
    while (!list.done) {
      const nameType = list.u8();
      const name = list.take(list.u16());
      if (!list.ok) return undefined;
      if (nameType === HOST_NAME) return latin1(name);
    }
    return "";
  }
  return "";
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Reads big-endian fields; reading past the end clears `ok` for good instead of throwing. */
class Reader {
  readonly #bytes: Uint8Array;
  #at = 0;
  #ok = true;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Whether every field read so far was inside the bytes. */
  get ok(): boolean {
    return this.#ok;
  }

  /** Whether all the bytes have been read. */
  get done(): boolean {
    return this.#at >= this.#bytes.length;
  }

  u8(): number {
    return this.take(1)[0] ?? 0;
  }

  u16(): number {
    const b = this.take(2);
    return b.length === 2 ? (b[0] << 8) | b[1] : 0;
  }

  take(n: number): Uint8Array {
    if (!this.#ok || this.#at + n > this.#bytes.length) {
      this.#ok = false;
      return new Uint8Array(0);
    }
    this.#at += n;
    return this.#bytes.subarray(this.#at - n, this.#at);
  }
}
