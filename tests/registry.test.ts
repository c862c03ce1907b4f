import assert from "node:assert/strict";
import {
  chunk,
  defineCodec,
  defineReadType,
  defineWriteType,
  Handle,
  HandleError,
  json,
  lengthField,
  line,
  NEED_MORE,
  netstring,
  NO_CODEC_SETTINGS,
  packstring,
  proxy,
  proxyV1,
  proxyV2,
  readTypeNamed,
  regex,
  registerReadType,
  registerWriteType,
  tlsAutostart,
  tlsDetect,
  writeTypeNamed,
} from "../mod.ts";
import type { HandleOptions } from "../mod.ts";

/** Two handles on the two ends of one loopback connection. */
async function connectedPair(optionsA: HandleOptions = {}, optionsB: HandleOptions = {}) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const a = new Handle(
    await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    optionsA,
  );
  const b = new Handle(await accepted, optionsB);
  listener.close();
  return {
    a,
    b,
    async close() {
      a.linger = 0;
      b.linger = 0;
      a.destroy();
      b.destroy();
      await Promise.allSettled([a.closed, b.closed]);
    },
  };
}

Deno.test("names: AnyEvent's names stand for the built-in values, without any import side effect", () => {
  const reads = { line, chunk, regex, netstring, packstring, json, proxy };
  for (const [name, type] of Object.entries(reads)) assert.equal(readTypeNamed(name), type, name);
  assert.equal(readTypeNamed("tls_detect"), tlsDetect);
  assert.equal(readTypeNamed("tls_autostart"), tlsAutostart);
  assert.equal(readTypeNamed("length_field"), lengthField);
  const writes = {
    netstring,
    packstring,
    json,
    proxy_v1: proxyV1,
    proxy_v2: proxyV2,
    length_field: lengthField,
  };
  for (const [name, type] of Object.entries(writes)) assert.equal(writeTypeNamed(name), type, name);
  assert.equal(line.spread, true);
  assert.equal(regex.spread, true);
  for (const type of [chunk, netstring, packstring, json]) assert.equal(type.spread, false);
});

Deno.test("names: unknown names throw TypeError", () => {
  assert.throws(() => readTypeNamed("test-unknown"), TypeError);
  assert.throws(() => writeTypeNamed("test-unknown"), TypeError);
  assert.throws(() => readTypeNamed("toString"), TypeError);
});

Deno.test("names: a name cannot be registered twice, be built in or be empty", () => {
  const byte = defineReadType("test-once", () => ({ decode: () => 0 }));
  registerReadType(byte);
  assert.equal(readTypeNamed("test-once"), byte);
  assert.throws(() => registerReadType(byte), TypeError);
  assert.throws(() => registerReadType(byte, "line"), TypeError);
  assert.throws(() => registerReadType(byte, ""), TypeError);
  assert.throws(() => registerReadType({} as never, "test-not-a-type"), TypeError);
  const out = defineWriteType("test-once", () => new Uint8Array());
  registerWriteType(out);
  assert.throws(() => registerWriteType(out), TypeError);
  assert.throws(() => registerWriteType(out, "json"), TypeError);
});

Deno.test("names: defining a type checks its name and function", () => {
  assert.throws(() => defineReadType("", () => ({ decode: () => NEED_MORE })), TypeError);
  assert.throws(() => defineReadType("x", 5 as never), TypeError);
  assert.throws(() => defineWriteType("", () => new Uint8Array()), TypeError);
  assert.throws(() => defineWriteType("x", null as never), TypeError);
});

Deno.test("values: a bound read type keeps its arguments, and a registered name reads like the value", async () => {
  const { a, b, close } = await connectedPair();
  try {
    const pair = defineCodec(
      defineReadType("test-pair", (_settings, sep: string) => ({
        decode(buf) {
          const i = buf.indexOf(sep.charCodeAt(0));
          if (i < 0) return NEED_MORE;
          const text = buf.text(0, i);
          buf.consume(i + 1);
          return text;
        },
      })),
      (_settings, text: string, sep: string) => new TextEncoder().encode(text + sep),
    );
    registerReadType(pair, "test-pair-name");
    registerWriteType(pair, "test-pair-name");
    a.pushWrite(pair, "one", ";");
    a.pushWrite("test-pair-name" as never, "two", ";");
    a.pushWrite(pair, "three", ";");
    assert.equal(await b.read(pair(";")), "one");
    assert.equal(await b.read("test-pair-name" as never, ";"), "two");
    assert.equal(await b.read(pair, ";"), "three");
  } finally {
    await close();
  }
});

Deno.test("values: a decoder made from a handle's settings sees its maxFrameLength", async () => {
  const { a, b, close } = await connectedPair({}, { maxFrameLength: 4 });
  try {
    a.pushWrite("toolong\n");
    await assert.rejects(b.read(line), { code: "EMSGSIZE" });
    assert.equal(b.destroyed, true);
  } finally {
    await close();
  }
});

Deno.test("values: reads and writes use the handle's json coder", async () => {
  const { a, b, close } = await connectedPair({}, {
    json: { parse: () => "parsed", stringify: () => '"s"' },
  });
  try {
    a.pushWrite("[1]");
    assert.equal(await b.read(json), "parsed");
    b.pushWrite(json, { ignored: true });
    assert.equal(new TextDecoder().decode(await a.read(chunk(3))), '"s"');
    assert.notEqual(line.decoder(NO_CODEC_SETTINGS), line.decoder(NO_CODEC_SETTINGS));
  } finally {
    await close();
  }
});

Deno.test("values: a write type that returns no bytes, or a non-type, is a TypeError before anything is queued", async () => {
  const { a, close } = await connectedPair();
  try {
    const bad = defineWriteType("test-bad", () => "text" as never);
    assert.throws(() => a.pushWrite(bad), TypeError);
    assert.throws(() => a.pushWrite({} as never, 1 as never), TypeError);
    assert.throws(() => a.pushWrite(new Uint8Array(1) as never, 1 as never), TypeError);
    assert.throws(() => a.pushRead({} as never, () => {}), TypeError);
    assert.throws(() => a.pushRead(line, "x" as never), TypeError);
    assert.equal(a instanceof Handle, true);
  } finally {
    await close();
  }
});

Deno.test("values: two copies of the package work together and never clash", async () => {
  const root = new URL("../", import.meta.url).pathname;
  const copy = await Deno.makeTempDir({ prefix: "anyevent-copy-" });
  try {
    for (const dir of ["base", "codecs", "handle", "tls"]) {
      await Deno.mkdir(`${copy}/${dir}`);
      for await (const entry of Deno.readDir(`${root}${dir}`)) {
        if (entry.isFile && entry.name.endsWith(".ts") && entry.name !== "cbor.ts") {
          await Deno.copyFile(`${root}${dir}/${entry.name}`, `${copy}/${dir}/${entry.name}`);
        }
      }
    }
    await Deno.copyFile(`${root}mod.ts`, `${copy}/mod.ts`);
    const other: typeof import("../mod.ts") = await import(`file://${copy}/mod.ts`);
    assert.notEqual(other.line, line);
    // Each copy has its own names; registering the same name in both is fine.
    const mine = defineReadType("test-copies", () => ({ decode: () => NEED_MORE }));
    registerReadType(mine);
    other.registerReadType(
      other.defineReadType("test-copies", () => ({ decode: () => NEED_MORE })),
    );
    // A value of one copy works on a handle of the other, both ways.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted = listener.accept();
    const a = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
    const b = new other.Handle(await accepted);
    listener.close();
    a.pushWrite(other.netstring, "from the other copy");
    b.pushWrite("back\n");
    assert.equal(new TextDecoder().decode(await b.read(netstring)), "from the other copy");
    assert.equal(await a.read(other.line), "back");
    // The other copy's decoder errors are understood: a bad JSON text is a non-fatal EBADMSG.
    b.pushWrite("}x [1]");
    await assert.rejects(a.read(other.json), { code: "EBADMSG", fatal: false });
    assert.deepEqual(await a.read(other.json), [1]);
    assert.ok(new other.HandleError("EIO", "x") instanceof HandleError);
    a.linger = b.linger = 0;
    a.destroy();
    b.destroy();
    await Promise.allSettled([a.closed, b.closed]);
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});
