/**
 * Compile-time checks of the typed read and write types (`deno check` runs on tests/): each
 * `@ts-expect-error` line must be a type error, or the check fails. The test itself only
 * confirms the file loads.
 */
import assert from "node:assert/strict";
import type { Handle } from "../mod.ts";
import "../examples/resp.ts";

/** Never called: only type-checked. */
export function typedUsage(h: Handle): void {
  h.pushRead("line", (_h, line: string, eol: string) => void [line, eol]);
  h.pushRead("chunk", 4, (_h, bytes: Uint8Array) => void bytes);
  h.pushRead("netstring", { maxLength: 10 }, (_h, payload: Uint8Array) => void payload);
  h.pushRead("resp", (_h, value) => void value);
  h.pushWrite("resp", ["PING"]);
  h.pushWrite("json", { any: "value" });

  // @ts-expect-error chunk takes a number, not a string
  h.pushRead("chunk", "4", (_h: Handle, bytes: Uint8Array) => void bytes);
  // @ts-expect-error the line callback gets strings, not bytes
  h.pushRead("line", (_h: Handle, line: Uint8Array) => void line);
  // @ts-expect-error no read type is called "lines"
  h.pushRead("lines", () => {});
  // @ts-expect-error the resp read type takes options, not a number
  h.pushRead("resp", 5, () => {});
  // @ts-expect-error no write type is called "xml"
  h.pushWrite("xml", "<a/>");
  // @ts-expect-error packstring needs its format first
  h.pushWrite("packstring", new Uint8Array());
  // @ts-expect-error resp cannot write a boolean
  h.pushWrite("resp", true);
  // @ts-expect-error read("chunk") needs its length
  void h.read("chunk");
}

Deno.test("typing: the typed API compiles as intended (checked by deno check)", () => {
  assert.equal(typeof typedUsage, "function");
});
