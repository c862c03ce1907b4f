/**
 * Compile-time checks of the typed read and write types (`deno check` runs on tests/): each
 * `@ts-expect-error` line must be a type error, or the check fails. The test itself only
 * confirms the file loads.
 */
import assert from "node:assert/strict";
import {
  chunk,
  defineReadType,
  type Handle,
  json,
  lengthField,
  line,
  lines as lineRuns,
  NEED_MORE,
  netstring,
  packstring,
  type ReadCallback,
  regex,
  tlsAutostart,
} from "../mod.ts";
import { resp, type RespValue } from "../examples/resp.ts";

/** Never called: only type-checked. */
export function typedUsage(h: Handle): void {
  // By value: the arguments and the callback follow from the type.
  h.pushRead(line, (_h, text: string, eol: string) => void [text, eol]);
  h.pushRead(line, "\r\n", (_h, text) => void text.toUpperCase());
  h.pushRead(line({ maxLength: 80 }), (_h, text, eol) => void (text + eol));
  h.pushRead(chunk, 4, (_h, bytes: Uint8Array) => void bytes);
  h.pushRead(chunk(4), (_h, bytes) => void bytes.byteLength);
  h.unshiftRead(netstring, { maxLength: 10 }, (_h, payload: Uint8Array) => void payload);
  h.pushRead(regex, /\r\n/, undefined, /^\s+/, (_h, data, match) => void [data, match.index]);
  h.pushRead(tlsAutostart, "accept");
  h.pushRead(tlsAutostart, (_h, started: boolean) => void started);
  h.pushRead(resp, (_h, value: RespValue) => void value);
  h.pushWrite(resp, ["PING"]);
  h.pushWrite(json, { any: "value" });
  h.pushWrite(netstring, new Uint8Array());
  h.pushWrite(packstring, "N", "payload");
  const text: Promise<string> = h.read(line);
  const bytes: Promise<Uint8Array> = h.read(chunk, 3, { signal: AbortSignal.timeout(10) });
  const value: Promise<RespValue> = h.read(resp);
  for (const _ of [text, bytes, value]) void _;
  const lines: AsyncIterator<string> = h.iterate(line);
  const frames: AsyncIterator<Uint8Array> = h.iterate(netstring({ maxLength: 10 }));
  void [lines, frames];
  const onLine: ReadCallback<typeof line> = (_h, l, e) => void (l + e);
  const onNamed: ReadCallback<"line"> = onLine;
  h.pushRead(line, onNamed);

  // A type whose factory has an optional parameter: with it or without, then the callback.
  const tagged = defineReadType("tagged", (_settings, tag?: string) => ({
    decode: (buf) => buf.length === 0 ? NEED_MORE : `${tag ?? ""}${buf.take(1)[0]}`,
  }));
  h.pushRead(tagged, (_h, value: string) => void value);
  h.pushRead(tagged, "t", (_h, value) => void value.toUpperCase());
  const taggedValue: Promise<string> = h.read(tagged, "t", { signal: AbortSignal.timeout(1) });
  void taggedValue;
  // @ts-expect-error the tag is a string
  h.pushRead(tagged, 1, () => {});

  // By AnyEvent's name: the same types for the built-ins.
  h.pushRead("line", (_h, text: string, eol: string) => void [text, eol]);
  h.pushRead("chunk", 4, (_h, bytes: Uint8Array) => void bytes);
  h.pushRead("netstring", { maxLength: 10 }, (_h, payload: Uint8Array) => void payload);
  h.pushRead("tls_autostart", "accept");
  h.pushWrite("json", { any: "value" });
  const named: Promise<string> = h.read("line");
  void named;
  // A run of lines: an array, by name or value, in every style.
  h.pushRead("lines", (_h, run: string[]) => void run);
  h.pushRead(lineRuns, ";", (_h, run: string[]) => void run);
  const runs: AsyncIterator<string[]> = h.iterate("lines", { maxLength: 80 });
  const run: Promise<string[]> = h.read(lineRuns);
  void [runs, run];

  // @ts-expect-error chunk takes a number, not a string
  h.pushRead(chunk, "4", (_h: Handle, bytes: Uint8Array) => void bytes);
  // @ts-expect-error the line callback gets strings, not bytes
  h.pushRead(line, (_h: Handle, text: Uint8Array) => void text);
  // @ts-expect-error line needs a callback (it cannot go without one)
  h.pushRead(line, "\n");
  // @ts-expect-error line is no write type
  h.pushWrite(line, "x");
  // @ts-expect-error netstring writes strings or bytes
  h.pushWrite(netstring, 5);
  // @ts-expect-error read(chunk) needs its length
  void h.read(chunk);
  // @ts-expect-error a bound chunk takes no more arguments
  void h.read(chunk(4), 4);
  // @ts-expect-error the resp read type takes options, not a number
  h.pushRead(resp, 5, () => {});
  // @ts-expect-error resp cannot write a boolean
  h.pushWrite(resp, true);
  // @ts-expect-error read(line) gives a string
  const wrong: Promise<Uint8Array> = h.read(line);
  void wrong;
  // @ts-expect-error a run of lines is an array, not one string
  h.pushRead("lines", (_h, one: number) => void one);

  // @ts-expect-error chunk takes a number, not a string (by name)
  h.pushRead("chunk", "4", (_h: Handle, bytes: Uint8Array) => void bytes);
  // @ts-expect-error the line callback gets strings (by name)
  h.pushRead("line", (_h: Handle, text: Uint8Array) => void text);
  // @ts-expect-error no read type is called "netstrings"
  h.pushRead("netstrings", () => {});
  // @ts-expect-error no write type is called "xml"
  h.pushWrite("xml", "<a/>");
  // @ts-expect-error packstring needs its format first
  h.pushWrite("packstring", new Uint8Array());
  // @ts-expect-error read("chunk") needs its length
  void h.read("chunk");

  // lengthField: configured once, then a read and write type taking no options.
  const framed = lengthField({ offset: 1, size: 4, adjust: -4 });
  h.pushRead(framed, (_h, frame: Uint8Array) => void frame);
  h.pushWrite(framed, "Q", "SELECT 1\0");
  h.pushWrite(framed, new Uint8Array(1), new Uint8Array());
  const frame: Promise<Uint8Array> = h.read(framed);
  const lengthFrames: AsyncIterator<Uint8Array> = h.iterate(framed);
  void [frame, lengthFrames];
  h.pushRead(lengthField, { size: 2 }, (_h, f: Uint8Array) => void f);
  h.pushRead("length_field", { size: 2 }, (_h, f: Uint8Array) => void f);
  h.pushWrite("length_field", { size: 2 }, "body");
  // @ts-expect-error size 5 is no length field
  lengthField({ size: 5 });
  // @ts-expect-error the codec gives bytes, not text
  h.pushRead(framed, (_h: Handle, text: string) => void text);
  // @ts-expect-error a configured codec takes no options
  h.pushRead(framed, { size: 2 }, () => {});
  // @ts-expect-error a write takes bytes or text
  h.pushWrite(framed, 5);
  // @ts-expect-error the name form needs the options first
  h.pushWrite("length_field", "body");
}

Deno.test("typing: the typed API compiles as intended (checked by deno check)", () => {
  assert.equal(typeof typedUsage, "function");
});
