/**
 * A read re-pushed from its own callback with the same arguments takes over the decoder of the
 * read just delivered (a decoder that returned a value is ready for the next frame), instead
 * of making one per frame; with other or changeable arguments, it makes its own.
 */
import assert from "node:assert/strict";
import { defineReadType, type Handle, line, NEED_MORE, regex } from "../mod.ts";
import { pair, writeAll } from "./_net.ts";

/** A read type of one byte per frame that counts the decoders it makes, by argument. */
function countingType() {
  const made: unknown[] = [];
  const type = defineReadType("test-counted", (_settings, tag?: unknown) => {
    made.push(tag);
    return { decode: (buf) => buf.length === 0 ? NEED_MORE : buf.take(1)[0] };
  }, { maxArgs: 1 });
  return { type, made };
}

/** Re-pushes `push` from its callback until `frames` values arrived; returns them. */
function rePush<V>(
  h: Handle,
  frames: number,
  push: (h: Handle, i: number, cb: (h: Handle, v: V) => void) => void,
): Promise<V[]> {
  const values: V[] = [];
  return new Promise((resolve) => {
    const cb = (h: Handle, v: V) => {
      values.push(v);
      if (values.length === frames) resolve(values);
      else push(h, values.length, cb);
    };
    push(h, 0, cb);
  });
}

Deno.test("decoder reuse: the same string, number or RegExp argument makes one decoder", async () => {
  const p = await pair();
  const { type, made } = countingType();
  const re = /x/;
  for (const tag of ["s", 7, re, undefined]) {
    made.length = 0;
    const got = rePush<number>(p.h, 5, (h, _i, cb) => h.pushRead(type, tag, cb));
    await writeAll(p.peer, "abcde");
    assert.deepEqual(await got, [0x61, 0x62, 0x63, 0x64, 0x65]);
    assert.deepEqual(made, [tag], `one decoder for ${String(tag)}`);
  }
  await p.close();
});

Deno.test("decoder reuse: other arguments, objects and other callbacks", async () => {
  const p = await pair();
  const { type, made } = countingType();
  // A different argument per frame: a decoder each.
  let got = rePush<number>(p.h, 3, (h, i, cb) => h.pushRead(type, `t${i}`, cb));
  await writeAll(p.peer, "abc");
  assert.deepEqual(await got, [0x61, 0x62, 0x63]);
  assert.deepEqual(made, ["t0", "t1", "t2"]);
  // An object may have changed between two reads: never taken over.
  made.length = 0;
  const options = { n: 1 };
  got = rePush<number>(p.h, 3, (h, _i, cb) => h.pushRead(type, options, cb));
  await writeAll(p.peer, "def");
  assert.deepEqual(await got, [0x64, 0x65, 0x66]);
  assert.equal(made.length, 3);
  // Another callback with the same argument takes the decoder over, and both are called.
  made.length = 0;
  const order: string[] = [];
  const done = new Promise<void>((resolve) => {
    p.h.pushRead(type, "same", (h, v: number) => {
      order.push(`first ${v}`);
      h.pushRead(type, "same", (_h, v: number) => {
        order.push(`second ${v}`);
        resolve();
      });
    });
  });
  await writeAll(p.peer, "gh");
  await done;
  assert.deepEqual(order, ["first 103", "second 104"]);
  assert.deepEqual(made, ["same"]);
  await p.close();
});

Deno.test("decoder reuse: CRLF lines sent byte by byte and a regex split mid-marker read exactly", async () => {
  const p = await pair();
  const wire = "a\r\nbb\r\n\r\nccc\r\n";
  const lines = rePush<string>(p.h, 4, (h, _i, cb) => h.pushRead(line, "\r\n", cb));
  for (const byte of new TextEncoder().encode(wire)) await writeAll(p.peer, new Uint8Array([byte]));
  assert.deepEqual(await lines, ["a", "bb", "", "ccc"]);
  const heads = rePush<string>(p.h, 3, (h, _i, cb) => h.pushRead(regex, /;;/, cb));
  await writeAll(p.peer, "x;;y;");
  await writeAll(p.peer, ";z;;");
  assert.deepEqual(await heads, ["x;;", "y;;", "z;;"]);
  await p.close();
});
