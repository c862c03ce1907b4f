/**
 * The read types `tls_detect` and `tls_autostart`: telling a TLS ClientHello from plaintext
 * on a port that serves both, without consuming a byte.
 *
 * | first bytes                                        | verdict                 |
 * | -------------------------------------------------- | ----------------------- |
 * | `16` `03`/`04` minor len-hi (len-hi <= `40`)       | TLS record: `"accept"`  |
 * | `80`-`ff` any `01` `03`/`04` minor any             | SSLv2-framed ClientHello |
 * | a prefix of either (including no bytes)           | wait for more           |
 * | anything else                                      | plaintext: `null`       |
 *
 * The version reported is the record layer's (`3, 1` for real TLS 1.2 and 1.3 clients), as
 * AnyEvent::Handle reports it. A plaintext protocol that must work behind detection should not
 * start with byte 0x16 or a byte >= 0x80. At most 6 bytes are examined.
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";
import { type Decoder, NEED_MORE } from "../base/decoder.ts";
import {
  defineReadType,
  type ReadType,
  type UncalledReadType,
  withUncalled,
} from "../base/codec.ts";
import type { TlsOptions } from "./options.ts";

/** What `tls_detect` delivers: `["accept", major, minor]` for TLS, `[null]` for plaintext. */
export type TlsDetection = readonly [
  detect: "accept" | null,
  major: number | undefined,
  minor: number | undefined,
];

const PLAINTEXT: TlsDetection = [null, undefined, undefined];

/**
 * Classifies the start of a stream.
 *
 * @param buf The buffered bytes (nothing is consumed).
 * @returns The verdict, or `NEED_MORE` while the bytes could still be the start of TLS.
 *
 * @example Telling a ClientHello from a line of text
 * ```ts
 * import { detectTls, NEED_MORE, ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new Uint8Array([0x16, 0x03, 0x01]));
 * assert.equal(detectTls(buf), NEED_MORE); // could still be TLS
 * buf.append(new Uint8Array([0x02, 0x00]));
 * assert.deepEqual(detectTls(buf), ["accept", 3, 1]);
 * const text = new ReadBuffer();
 * text.append(new TextEncoder().encode("EHLO x\r\n"));
 * assert.deepEqual(detectTls(text), [null, undefined, undefined]);
 * assert.equal(detectTls(new ReadBuffer()), NEED_MORE);
 * ```
 */
export function detectTls(buf: ReadBuffer): TlsDetection | typeof NEED_MORE {
  const n = buf.length;
  if (n === 0) return NEED_MORE;
  const first = buf.at(0)!;
  // Each check: byte i must satisfy test(i) when present; a missing byte means "wait".
  const expect = (tests: ((b: number) => boolean)[]): boolean | typeof NEED_MORE => {
    for (let i = 0; i < tests.length; i++) {
      if (i >= n) return NEED_MORE;
      if (!tests[i](buf.at(i)!)) return false;
    }
    return true;
  };
  const any = () => true;
  const major = (b: number) => b === 3 || b === 4;
  if (first === 0x16) {
    const tls = expect([any, major, any, (b) => b <= 0x40]);
    if (tls === NEED_MORE) return NEED_MORE;
    if (tls) return ["accept", buf.at(1)!, buf.at(2)!];
    return PLAINTEXT;
  }
  if (first >= 0x80) {
    const v2 = expect([any, any, (b) => b === 1, major, any, any]);
    if (v2 === NEED_MORE) return NEED_MORE;
    if (v2) return ["accept", buf.at(3)!, buf.at(4)!];
  }
  return PLAINTEXT;
}

/**
 * The decoder of `tls_detect`: delivers the verdict of {@linkcode detectTls}, consuming
 * nothing, so the bytes go to the next reader (or to TLS).
 *
 * @returns A decoder.
 *
 * @example Detecting TLS on a buffer
 * ```ts
 * import { NEED_MORE, ReadBuffer, tlsDetectDecoder } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new TextEncoder().encode("HELO"));
 * assert.deepEqual(tlsDetectDecoder().decode(buf), [null, undefined, undefined]);
 * assert.equal(buf.length, 4);
 * ```
 */
export function tlsDetectDecoder(): Decoder<TlsDetection> {
  return {
    decode: detectTls,
    decodeEof: (buf) => buf.length === 0 ? NEED_MORE : PLAINTEXT,
  };
}

/**
 * The arguments of `tls_autostart`: ours, `[tlsOptions]` (then a callback), or AnyEvent's,
 * `[tlsOptions,] "accept"` with no callback.
 */
function autostartOptions(first?: TlsOptions | "accept", mode?: "accept"): TlsOptions | undefined {
  const given = typeof first === "string" ? first : mode;
  if (given !== undefined && given !== "accept") {
    throw new TypeError(
      `Cannot autostart TLS as "${given}": only "accept" (a server detects a ClientHello)`,
    );
  }
  return typeof first === "object" ? first : undefined;
}

/** The decoder of `tls_autostart`: `true` for TLS, `false` for plaintext; keeps the options. */
class AutostartDecoder implements Decoder<boolean> {
  constructor(readonly options: TlsOptions | undefined) {}

  decode(buf: ReadBuffer): boolean | typeof NEED_MORE {
    const verdict = detectTls(buf);
    return verdict === NEED_MORE ? NEED_MORE : verdict[0] === "accept";
  }

  decodeEof(buf: ReadBuffer): boolean | typeof NEED_MORE {
    return buf.length === 0 ? NEED_MORE : this.decode(buf) === true;
  }
}

/** What `tlsAutostart`'s action needs of the handle: its `starttls`. */
export interface StartsTls {
  /**
   * Starts TLS on the connection.
   *
   * @param mode The side to take.
   * @param options The TLS options.
   */
  starttls(mode: "accept", options?: TlsOptions): unknown;
}

/** The type of {@linkcode tlsDetect}. */
export type TlsDetectType = ReadType<[], TlsDetection, true>;

/**
 * The `tls_detect` read type: `h.pushRead(tlsDetect, (h, detect, major, minor) => ...)`,
 * whether the peer is starting TLS (see {@linkcode detectTls}); it consumes nothing.
 *
 * @example Telling plaintext from TLS
 * ```ts
 * import { Handle, tlsDetect } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const peer = listener.accept().then(async (conn) => {
 *   await conn.write(new TextEncoder().encode("EHLO x\r\n"));
 *   return conn;
 * });
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * assert.equal(await h.read(tlsDetect), null);
 * assert.equal(h.rbuf.text(), "EHLO x\r\n");
 * h.destroy();
 * (await peer).close();
 * listener.close();
 * ```
 */
export const tlsDetect: TlsDetectType = defineReadType("tls_detect", () => tlsDetectDecoder(), {
  spread: true,
  maxArgs: 0,
});

/** The type of {@linkcode tlsAutostart}. */
export type TlsAutostartType =
  & ReadType<[] | [options: TlsOptions], boolean, false, StartsTls>
  & UncalledReadType<[mode: "accept"] | [options: TlsOptions, mode: "accept"]>;

/**
 * The `tls_autostart` read type: `h.pushRead(tlsAutostart, [tlsOptions,] (h, started) =>
 * ...)` starts TLS as the server if the peer is starting TLS, else leaves the plaintext to the
 * next reader. AnyEvent's form, `h.pushRead(tlsAutostart, [tlsOptions,] "accept")`, needs no
 * callback.
 *
 * @example Serving plaintext and TLS on one port
 * ```ts
 * import { Handle, tlsAutostart } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const peer = listener.accept().then(async (conn) => {
 *   await conn.write(new TextEncoder().encode("plain\n"));
 *   return conn;
 * });
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * assert.equal(await h.read(tlsAutostart), false);
 * h.destroy();
 * (await peer).close();
 * listener.close();
 * ```
 */
export const tlsAutostart: TlsAutostartType = withUncalled(
  defineReadType(
    "tls_autostart",
    (_settings, options?: TlsOptions) => new AutostartDecoder(autostartOptions(options)),
    {
      act(h: StartsTls, started, decoder) {
        if (started === true) h.starttls("accept", (decoder as AutostartDecoder).options);
      },
      maxArgs: 1,
    },
  ),
  (_settings, first: TlsOptions | "accept", mode?: "accept") =>
    new AutostartDecoder(autostartOptions(first, mode)),
  { maxArgs: 2 },
);
