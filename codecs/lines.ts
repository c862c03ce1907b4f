/**
 * The `lines` read type: every complete line buffered, as one array.
 *
 * @module
 */
import type { ReadBuffer } from "../base/buffer.ts";
import { type CodecSettings, defineReadType, type ReadType } from "../base/codec.ts";
import { type Decoder, NEED_MORE, type NeedMore } from "../base/decoder.ts";
import {
  LfLineDecoder,
  type LineDecoder,
  lineDecoder,
  type LineOptions,
  StringLineDecoder,
} from "./line.ts";

/**
 * Decodes runs of lines. The first line of a run goes through the decoder that may skip an
 * over-long line (`discard`), the others through one that never consumes what it rejects: a
 * line that fails after others were taken is left for the next run, so the lines before it
 * are delivered first and the failure is met again, exactly as a `line` read would meet it.
 */
class LinesDecoder implements Decoder<string[]> {
  readonly skips: boolean;
  readonly #first: LineDecoder;
  readonly #rest: LineDecoder;
  /** `#rest` when it cuts the lines of a decoded window at once (the default or a string marker). */
  readonly #runs: LfLineDecoder | StringLineDecoder | undefined;

  constructor(first: LineDecoder, rest: LineDecoder) {
    this.#first = first;
    this.#rest = rest;
    this.#runs = rest instanceof LfLineDecoder || rest instanceof StringLineDecoder
      ? rest
      : undefined;
    this.skips = first.skips === true;
  }

  decode(buf: ReadBuffer): string[] | NeedMore {
    const before = buf.length;
    const first = this.#first.decodeFirst(buf);
    if (first === NEED_MORE) return NEED_MORE;
    const lines = [first];
    if (buf.length === before) return lines; // a marker that matches nothing would repeat
    const rest = this.#rest;
    const runs = this.#runs;
    for (;;) {
      // What the decoded window holds is cut in one go.
      runs?.cutRun(buf, lines);
      const left = buf.length;
      if (left === 0) break;
      let line;
      try {
        line = rest.decodeFirst(buf);
      } catch {
        break; // nothing was consumed: the next run starts with this line and meets it again
      }
      if (line === NEED_MORE) break;
      lines.push(line);
      if (buf.length === left) break;
    }
    return lines;
  }

  finishSkip(buf: ReadBuffer): boolean {
    return this.#first.finishSkip?.(buf) ?? true;
  }
}

/**
 * Makes a decoder of every complete line buffered: one array of the lines, without their
 * markers, in order; `NEED_MORE` until at least one line is complete. It takes the markers,
 * `maxLength` and `discard` of {@linkcode lineDecoder}, and the lines it gives are those that
 * `line` reads would give one by one. A run of lines costs one call, and with the default
 * marker one `TextDecoder` call for the run, however many lines it holds: the way to pay per
 * read rather than per line (`iterate(lines)` takes one promise per run, not per line).
 *
 * A line that fails (`EMSGSIZE`) ends the run before it: the lines before it are delivered,
 * and the next run starts with it and fails (or, with `discard`, skips it and reports a
 * non-fatal `EMSGSIZE`).
 *
 * A run takes every complete line buffered, so where a protocol changes its framing after a
 * line (a header block before a body, `STARTTLS` before the handshake), read that part with
 * `line`: bytes a peer sent early after the switch would otherwise be taken as lines too.
 *
 * @param eolOrOptions The end-of-line marker, or {@linkcode LineOptions}.
 * @param settings The reading handle's settings (its `maxFrameLength` is the default limit).
 * @returns A decoder of `string[]`.
 * @throws {RangeError} For an empty marker (every run would be endless), and as
 * {@linkcode lineDecoder} throws.
 * @throws {TypeError} As {@linkcode lineDecoder} throws.
 *
 * @example Every complete line, at once
 * ```ts
 * import { linesDecoder, NEED_MORE, ReadBuffer } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const buf = new ReadBuffer();
 * buf.append(new TextEncoder().encode("a\r\nb\nc"));
 * const lines = linesDecoder();
 * assert.deepEqual(lines.decode(buf), ["a", "b"]);
 * assert.equal(lines.decode(buf), NEED_MORE);
 * assert.equal(buf.text(), "c");
 * ```
 */
export function linesDecoder(
  eolOrOptions?: string | RegExp | LineOptions,
  settings?: CodecSettings,
): Decoder<string[]> {
  const options: LineOptions = typeof eolOrOptions === "string" || eolOrOptions instanceof RegExp
    ? { eol: eolOrOptions }
    : eolOrOptions ?? {};
  if (options.eol === "") throw new RangeError("Cannot read lines with an empty eol");
  const first = lineDecoder(options, settings);
  const rest = options.discard ? lineDecoder({ ...options, discard: false }, settings) : first;
  return new LinesDecoder(first, rest);
}

/** The type of {@linkcode lines}. */
export type LinesType = ReadType<[] | [eol: string | RegExp | LineOptions], string[], false>;

/**
 * The `lines` read type: `h.pushRead(lines, [eol | options,] (h, lines) => ...)`, every
 * complete line buffered when it runs, as one array (see {@linkcode linesDecoder}). It is
 * `line` paid per read: one callback, promise or iterator step for all the lines that one
 * read brought, instead of one per line.
 *
 * @example Answering each burst of pipelined requests with one write
 * ```ts
 * import { Handle, lines } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = new Handle(await listener.accept());
 * await client.write(new TextEncoder().encode("ping 1\nping 2\n"));
 * const batch = await server.read(lines);
 * assert.deepEqual(batch, ["ping 1", "ping 2"]);
 * server.pushWrite(batch.map((l) => `pong${l.slice(4)}\n`).join(""));
 * await server.drain();
 * const reply = new Uint8Array(14);
 * let got = 0;
 * while (got < reply.length) got += (await client.read(reply.subarray(got)))!;
 * assert.equal(new TextDecoder().decode(reply), "pong 1\npong 2\n");
 * server.destroy();
 * client.close();
 * listener.close();
 * ```
 */
export const lines: LinesType = defineReadType(
  "lines",
  (settings, eol?: string | RegExp | LineOptions) => linesDecoder(eol, settings),
  { maxArgs: 1 },
);
