/**
 * One decode site: whatever the consumer style (`pushRead`, `read`, `iterate`, or `onRead`
 * running a decoder itself) and wherever the bytes were split, a peer's input gives the same
 * sequence of values and errors. Over real sockets, split at every byte boundary.
 */
import assert from "node:assert/strict";
import {
  type Decoder,
  Handle,
  HandleError,
  json,
  line,
  NEED_MORE,
  netstring,
  NO_CODEC_SETTINGS,
  type ReadType,
} from "../mod.ts";
import { cbor } from "../codecs/cbor.ts";

/** What a consumer saw: a value (as JSON), an error code (fatal ones marked), or the end. */
type Seen = string;

const text = (v: unknown): Seen =>
  JSON.stringify(
    v,
    (_k, x) => x instanceof Uint8Array ? `bytes:${new TextDecoder().decode(x)}` : x,
  );
/** An error as seen; a read left pending at a clean end of input (nothing unconsumed) is the end. */
const failure = (e: unknown): Seen => {
  if (!(e instanceof HandleError)) throw e;
  if (e.code === "EPIPE" && /\(0 bytes unconsumed\)/.test(e.message)) return "end";
  return e.fatal ? `fatal ${e.code}` : e.code;
};

interface Case {
  name: string;
  type: ReadType<[], unknown, boolean, unknown>;
  input: Uint8Array;
  expected: Seen[];
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const CASES: Case[] = [
  {
    name: "json with a bad text between good ones",
    type: json,
    input: utf8("[1] }bad [2] [3]"),
    expected: ["[1]", "EBADMSG", "[2]", "[3]", "end"],
  },
  {
    name: "json with garbage last",
    type: json,
    input: utf8('{"a":1} nope'),
    expected: ['{"a":1}', "EBADMSG", "end"],
  },
  {
    name: "json that does not parse, then a good text",
    type: json,
    input: utf8('[1,] "x"\n7 '),
    expected: ["EBADMSG", '"x"', "7", "end"],
  },
  {
    name: "discarding line with an over-long line",
    type: line({ maxLength: 4, discard: true }),
    input: utf8("ab\ntoolongline\ncd\n"),
    expected: ['"ab"', "EMSGSIZE", '"cd"', "end"],
  },
  {
    name: "netstring cut short by end of input",
    type: netstring,
    input: utf8("3:abc,5:xy"),
    expected: ['"bytes:abc"', "fatal EPIPE"],
  },
  {
    name: "netstring with a bad header",
    type: netstring,
    input: utf8("1:a,x:"),
    expected: ['"bytes:a"', "fatal EBADMSG"],
  },
  {
    name: "cbor with an item cborg rejects",
    type: cbor,
    input: new Uint8Array([0x01, 0xe0, 0x82, 0x02, 0x03]),
    expected: ["1", "EBADMSG", "[2,3]", "end"],
  },
];

type Style = "pushRead" | "read" | "iterate" | "onRead";
const STYLES: Style[] = ["pushRead", "read", "iterate", "onRead"];

/** Feeds `pieces` to a handle read in `style`; what it saw. */
async function consume(type: Case["type"], style: Style, pieces: Uint8Array[]): Promise<Seen[]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const peer = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const conn = await accepted;
  listener.close();
  const seen: Seen[] = [];
  let finished!: () => void;
  const done = new Promise<void>((resolve) => finished = resolve);
  let h: Handle;
  if (style === "pushRead") {
    h = new Handle(conn, {
      onError: (_h, e) => void (seen.push(failure(e)), e.fatal && finished()),
      onEof: () => void (seen.push("end"), finished()),
    });
    const next = (h: Handle) => h.pushRead(type, (h, v) => void (seen.push(text(v)), next(h)));
    next(h);
  } else if (style === "onRead") {
    const decoder: Decoder<unknown> = type.decoder(NO_CODEC_SETTINGS);
    const drain = (h: Handle, atEof: boolean) => {
      for (;;) {
        const before = h.rbuf.length;
        let v: unknown;
        try {
          v = atEof && decoder.decodeEof ? decoder.decodeEof(h.rbuf) : decoder.decode(h.rbuf);
        } catch (e) {
          seen.push(failure(e));
          if ((e as HandleError).fatal) return void (h.destroy(), finished());
          continue;
        }
        if (v !== NEED_MORE) seen.push(text(type.spread ? (v as unknown[])[0] : v));
        else if (h.rbuf.length === before || !atEof) break;
      }
      if (!atEof) return;
      seen.push(h.rbuf.length === 0 ? "end" : "fatal EPIPE");
      h.destroy();
      finished();
    };
    h = new Handle(conn, {
      onRead: (h) => drain(h, h.eof),
      onEof: (h) => drain(h, true),
      onError: (_h, e) => void (seen.push(failure(e)), finished()),
    });
  } else {
    h = new Handle(conn, { onError: () => {} });
    (async () => {
      for (;;) {
        try {
          if (style === "read") {
            seen.push(text(await h.read(type)));
          } else {
            for await (const v of h.iterate(type)) seen.push(text(v));
            seen.push("end");
            return;
          }
        } catch (e) {
          seen.push(failure(e));
          if ((e as HandleError).fatal) return;
        }
      }
    })().finally(finished);
  }
  for (const piece of pieces) {
    await peer.write(piece);
    await new Promise((resolve) => setTimeout(resolve, 1)); // let the handle see this piece
  }
  peer.closeWrite();
  await done;
  h.linger = 0;
  h.destroy();
  await h.closed.catch(() => {});
  peer.close();
  return seen;
}

for (const c of CASES) {
  Deno.test(`decode site: ${c.name}: every style and every split point see the same`, async () => {
    for (const style of STYLES) {
      assert.deepEqual(await consume(c.type, style, [c.input]), c.expected, `${style}, whole`);
      for (let at = 1; at < c.input.length; at++) {
        const pieces = [c.input.subarray(0, at), c.input.subarray(at)];
        assert.deepEqual(await consume(c.type, style, pieces), c.expected, `${style}, split ${at}`);
      }
    }
  });
}
