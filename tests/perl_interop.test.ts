/**
 * Wire compatibility with the real Perl AnyEvent::Handle 7.x (Debian's libanyevent-perl):
 * every frame this library encodes is decoded by AnyEvent, re-encoded by AnyEvent, and decoded
 * here again, so both directions are checked. `.ci/run` installs the Perl modules.
 */
import assert from "node:assert/strict";
import { allBytes, noise } from "./_bytes.ts";
import { Handle } from "../mod.ts";

const PEER = new URL("./fixtures/anyevent_echo.pl", import.meta.url).pathname;
const MIB = 1024 * 1024;

/** Runs the Perl peer against a Handle; `talk` drives the session and must send "quit". */
async function withPerlPeer(talk: (h: Handle) => Promise<void>): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const child = new Deno.Command("perl", {
    args: [PEER, String(listener.addr.port)],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const h = new Handle(await listener.accept(), { maxFrameLength: 4 * MIB });
  try {
    await talk(h);
    assert.equal(await h.read("line"), "bye");
  } finally {
    h.destroy();
    await h.closed.catch(() => {});
    listener.close();
    const status = await child.status;
    assert.equal(status.code, 0, "the Perl peer reported an error");
  }
}

Deno.test("perl: lines round-trip through AnyEvent's line reader and writer", async () => {
  const lines = ["hello", "", "ünïcödé ✓ 😀", "tab\tand\rcr", "x".repeat(MIB)];
  await withPerlPeer(async (h) => {
    for (const line of lines) h.pushWrite(`line\n${line}\r\n`);
    for (const line of lines) assert.equal(await h.read("line"), line);
    h.pushWrite("quit\n");
  });
});

Deno.test("perl: netstrings with every byte value and 1 MiB payloads round-trip", async () => {
  const payloads = [allBytes(), new Uint8Array(), new TextEncoder().encode("0:xx,,"), noise(MIB)];
  await withPerlPeer(async (h) => {
    for (const p of payloads) {
      h.pushWrite("netstring\n");
      h.pushWrite("netstring", p);
    }
    for (const p of payloads) assert.deepEqual(await h.read("netstring"), p);
    h.pushWrite("quit\n");
  });
});

Deno.test("perl: packstrings in N, n and w round-trip", async () => {
  const cases: [string, Uint8Array][] = [
    ["N", allBytes()],
    ["N", noise(MIB, 2)],
    ["n", allBytes()],
    ["n", noise(65535, 3)],
    ["w", new Uint8Array()],
    ["w", noise(127, 4)],
    ["w", noise(128, 5)],
    ["w", noise(MIB, 6)],
    ["C", noise(255, 7)],
    ["V", noise(70000, 8)],
  ];
  await withPerlPeer(async (h) => {
    for (const [format, p] of cases) {
      h.pushWrite(`packstring ${format}\n`);
      h.pushWrite("packstring", format, p);
    }
    for (const [format, p] of cases) assert.deepEqual(await h.read("packstring", format), p);
    h.pushWrite("quit\n");
  });
});

Deno.test("perl: JSON values round-trip through JSON::XS", async () => {
  const values: unknown[] = [
    { a: [1, "x\ny"], u: "😀 ü", n: null, f: 1.5, t: true, e: {} },
    [],
    "a string",
    42,
    { deep: [[[[[[{ k: "v" }]]]]]] },
    { big: "é".repeat(MIB / 2) },
  ];
  await withPerlPeer(async (h) => {
    for (const v of values) {
      h.pushWrite("json\n");
      h.pushWrite("json", v);
    }
    for (const v of values) assert.deepEqual(await h.read("json"), v);
    h.pushWrite("quit\n");
  });
});
