/**
 * Wrong arguments at run time (JavaScript callers, `as never`, values from elsewhere): the
 * promise API rejects instead of throwing, an argument too many is a `TypeError` naming the
 * type and the counts instead of being ignored, and the handle goes on unharmed.
 */
import assert from "node:assert/strict";
import {
  chunk,
  defineReadType,
  defineWriteType,
  json,
  line,
  NEED_MORE,
  netstring,
  packstring,
  tlsAutostart,
} from "../mod.ts";
import { pair, readAll, writeAll } from "./_net.ts";

/** A handle as a JavaScript caller sees it: no argument checked before run time. */
type Untyped = Record<
  "pushRead" | "unshiftRead" | "read" | "iterate" | "pushWrite" | "unshiftWrite",
  // deno-lint-ignore no-explicit-any
  (...args: unknown[]) => any
>;
const untyped = (h: unknown) => h as Untyped;
/** A read type called as a JavaScript caller would. */
const call = (type: unknown, ...args: unknown[]) => (type as (...a: unknown[]) => unknown)(...args);

/** The TypeError of a type given more arguments than it takes. */
const tooMany = (name: string, count: number, max: number) => ({
  name: "TypeError",
  message: `Cannot use "${name}" with ${count} argument${count === 1 ? "" : "s"}: ` +
    `it takes at most ${max}`,
});

Deno.test("arguments: read() rejects on bad arguments, with the error it used to throw", async () => {
  const p = await pair();
  const calls: Promise<unknown>[] = [];
  // None of these throws: each returns a promise that rejects.
  calls.push(p.h.read(chunk as never));
  calls.push(p.h.read("netstrings" as never));
  calls.push(p.h.read(chunk, 1, 2 as never));
  calls.push(p.h.read(chunk(4), 4 as never));
  calls.push(p.h.read(42 as never));
  await assert.rejects(calls[0], {
    name: "RangeError",
    message: 'Cannot read a chunk of length "undefined": expected a non-negative integer',
  });
  await assert.rejects(calls[1], { name: "TypeError", message: 'Unknown read type "netstrings"' });
  await assert.rejects(calls[2], tooMany("chunk", 2, 1));
  await assert.rejects(calls[3], tooMany("chunk", 1, 0));
  await assert.rejects(calls[4], TypeError);
  // Nothing was queued: the next read gets the first bytes.
  await writeAll(p.peer, "still here\n");
  assert.equal(await p.h.read(line), "still here");
  assert.equal(p.h.destroyed, false);
  await p.close();
});

Deno.test("arguments: iterate() with bad arguments fails its first next(), then is done", async () => {
  const p = await pair();
  const it = p.h.iterate(chunk as never);
  await assert.rejects(it.next(), RangeError);
  assert.deepEqual(await it.next(), { value: undefined, done: true });
  const named = p.h.iterate("netstrings" as never);
  await assert.rejects(named.next(), {
    name: "TypeError",
    message: 'Unknown read type "netstrings"',
  });
  const extra = p.h.iterate(line, "\n", "x" as never);
  await assert.rejects(extra.next(), tooMany("line", 2, 1));
  await writeAll(p.peer, "a\nb\n");
  p.peer.closeWrite();
  const lines: string[] = [];
  for await (const l of p.h.iterate(line)) lines.push(l);
  assert.deepEqual(lines, ["a", "b"]);
  await p.close();
});

Deno.test("arguments: pushRead with an argument too many is a TypeError, nothing queued", async () => {
  const p = await pair();
  const cb = () => assert.fail("never called");
  assert.throws(() => p.h.pushRead(line, "x", "y" as never, cb), tooMany("line", 2, 1));
  assert.throws(() => p.h.pushRead("line", "x", "y" as never, cb), tooMany("line", 2, 1));
  assert.throws(() => p.h.unshiftRead(chunk, 1, 2 as never, cb), tooMany("chunk", 2, 1));
  assert.throws(() => p.h.pushRead(chunk(1), 2 as never, cb), tooMany("chunk", 1, 0));
  assert.throws(() => p.h.pushRead("tls_detect", 1 as never, cb), tooMany("tls_detect", 1, 0));
  assert.throws(
    () => p.h.pushRead("regex", /a/, /b/, /c/, {}, 5 as never, cb),
    tooMany("regex", 5, 4),
  );
  // The form without a callback has its own count.
  assert.throws(
    () => untyped(p.h).pushRead(tlsAutostart, {}, "accept", "x"),
    tooMany("tls_autostart", 3, 2),
  );
  // A custom reader takes no arguments.
  assert.throws(() => p.h.pushRead((() => true) as never, "x"), {
    name: "TypeError",
    message: "Cannot queue a custom reader with 1 argument after it: it takes none",
  });
  // Binding too many.
  assert.throws(() => call(chunk, 4, 5), tooMany("chunk", 2, 1));
  assert.throws(() => call(packstring, "N", {}, 1), tooMany("packstring", 3, 2));
  // The queue is as it was: a good read gets the bytes.
  await writeAll(p.peer, "ok\n");
  const got = await new Promise<string>((resolve) => p.h.pushRead(line, (_h, l) => resolve(l)));
  assert.equal(got, "ok");
  await p.close();
});

Deno.test("arguments: pushWrite with an argument too many is a TypeError, nothing sent", async () => {
  const p = await pair();
  assert.throws(() => p.h.pushWrite(json, 1, 2 as never), tooMany("json", 2, 1));
  assert.throws(() => p.h.unshiftWrite("netstring", "a", "b" as never), tooMany("netstring", 2, 1));
  assert.throws(
    () => p.h.pushWrite(packstring, "N", "x", "y" as never),
    tooMany("packstring", 3, 2),
  );
  assert.throws(
    () => p.h.pushWrite("proxy_v1", {} as never, 1 as never),
    tooMany("proxy_v1", 2, 1),
  );
  p.h.pushWrite(netstring, "fine");
  p.h.pushShutdown();
  assert.equal(new TextDecoder().decode(await readAll(p.peer)), "4:fine,");
  await p.close();
});

Deno.test("arguments: an application's types are counted when they say how many they take", async () => {
  const p = await pair();
  const byte = (limit?: number) =>
    defineReadType("test-byte", (_settings, _unused?: string) => ({
      decode: (buf) => buf.length === 0 ? NEED_MORE : buf.take(1)[0],
    }), { maxArgs: limit });
  // Without maxArgs (JavaScript cannot tell it from the function), as before: not checked.
  const loose = byte();
  const strict = byte(1);
  await writeAll(p.peer, "ab");
  assert.equal(await p.h.read(loose, "x", "extra" as never), 0x61);
  await assert.rejects(p.h.read(strict, "x", "extra" as never), tooMany("test-byte", 2, 1));
  assert.equal(await p.h.read(strict, "x"), 0x62);
  const out = defineWriteType("test-out", (_s, b: number) => new Uint8Array([b]), { maxArgs: 1 });
  assert.throws(() => p.h.pushWrite(out, 1, 2 as never), tooMany("test-out", 2, 1));
  assert.throws(() => defineReadType("test-bad", () => ({ decode: () => 0 }), { maxArgs: -1 }), {
    name: "RangeError",
  });
  assert.throws(() => defineWriteType("test-bad", () => new Uint8Array(), { maxArgs: 1.5 }), {
    name: "RangeError",
  });
  await p.close();
});
