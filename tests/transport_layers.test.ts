/**
 * Layers other than TLS: a byte-transforming layer pushed mid-stream (from a read callback with
 * bytes buffered behind the switch, and with a read in flight), writes queued before the
 * switch leaving untransformed, and a layer that takes itself off and hands back the bytes it
 * was given past its end.
 */
import assert from "node:assert/strict";
import { Handle, type Layer, type LayerContext } from "../mod.ts";
import { pair, readAll, tick, writeAll } from "./_net.ts";

const KEY = 0x5a;
const enc = new TextEncoder();
const dec = new TextDecoder();

function xor(bytes: Uint8Array): Uint8Array {
  return bytes.map((b) => b ^ KEY);
}

/**
 * XORs every byte both ways. With `limit`, only that many bytes from below are the layer's;
 * it then removes itself and hands back what followed.
 */
class XorLayer implements Layer {
  readonly #ctx: LayerContext;
  #left: number;
  #leftover: Uint8Array[] = [];
  inbounds = 0;

  constructor(ctx: LayerContext, limit = Infinity) {
    this.#ctx = ctx;
    this.#left = limit;
  }

  inbound(bytes: Uint8Array | null): void {
    this.inbounds++;
    if (bytes === null) return this.#ctx.end();
    if (this.#left === 0) return void this.#leftover.push(bytes);
    const mine = bytes.subarray(0, Math.min(bytes.length, this.#left));
    this.#left -= mine.length;
    if (mine.length < bytes.length) this.#leftover.push(bytes.subarray(mine.length));
    this.#ctx.up(xor(mine));
    if (this.#left === 0) this.#ctx.remove();
  }

  outbound(bytes: Uint8Array): Promise<void> {
    return this.#ctx.down(xor(bytes));
  }

  endOutbound(): Promise<void> {
    return this.#ctx.endDown();
  }

  removed(): Uint8Array[] {
    return this.#leftover.splice(0);
  }

  close(): void {}
}

Deno.test("layers: a layer pushed from a read callback gets the bytes buffered behind it", async () => {
  const p = await pair();
  const lines: string[] = [];
  const done = new Promise<void>((resolve) => {
    p.h.pushRead("line", (h, line) => {
      lines.push(line);
      h.pushLayer((ctx) => new XorLayer(ctx));
      h.pushRead("line", (_h, a) => lines.push(a));
      h.pushRead("line", (_h, b) => {
        lines.push(b);
        resolve();
      });
    });
  });
  // One write: the switch command and the transformed lines arrive in the same read.
  await writeAll(
    p.peer,
    new Uint8Array([...enc.encode("XOR\n"), ...xor(enc.encode("one\ntwo\n"))]),
  );
  await done;
  assert.deepEqual(lines, ["XOR", "one", "two"]);
  await p.close();
});

Deno.test("layers: the result of a read in flight at the switch goes through the layer", async () => {
  const p = await pair();
  const line = p.h.read("line"); // a read is now in flight on the socket, nothing buffered
  await tick(10);
  const layer = p.h.pushLayer((ctx) => new XorLayer(ctx));
  await writeAll(p.peer, xor(enc.encode("through\n")));
  assert.equal(await line, "through");
  assert.ok(layer.inbounds > 0, "what the read in flight returned went through the layer");
  await p.close();
});

Deno.test("layers: writes queued before the switch leave untransformed, later ones through the layer", async () => {
  const p = await pair();
  p.h.pushWrite("plain\n");
  p.h.pushLayer((ctx) => new XorLayer(ctx));
  p.h.pushWrite("secret\n");
  p.h.pushShutdown();
  const got = await readAll(p.peer);
  assert.deepEqual(got, new Uint8Array([...enc.encode("plain\n"), ...xor(enc.encode("secret\n"))]));
  await p.close();
});

Deno.test("layers: a layer that removes itself hands back the bytes past its end", async () => {
  const p = await pair();
  const lines: string[] = [];
  let layer: XorLayer | undefined;
  const done = new Promise<void>((resolve) => {
    p.h.pushRead("line", (h) => {
      layer = h.pushLayer((ctx) => new XorLayer(ctx, 8)); // "one\ntwo\n" is transformed
      for (let i = 0; i < 2; i++) h.pushRead("line", (_h, line) => lines.push(line));
      h.pushRead("line", (_h, line) => {
        lines.push(line);
        resolve();
      });
    });
  });
  await writeAll(
    p.peer,
    new Uint8Array([
      ...enc.encode("XOR8\n"),
      ...xor(enc.encode("one\ntwo\n")),
      ...enc.encode("three\n"),
    ]),
  );
  await done;
  assert.deepEqual(lines, ["one", "two", "three"]);
  assert.ok(layer);
  // After the layer is off, writes are plain again and reads come from the socket.
  p.h.pushWrite("bye\n");
  const buf = new Uint8Array(16);
  const n = await p.peer.read(buf);
  assert.equal(dec.decode(buf.subarray(0, n!)), "bye\n");
  await writeAll(p.peer, "four\n");
  assert.equal(await p.h.read("line"), "four");
  await p.close();
});

Deno.test("layers: writes pushed while a layer is being removed wait for it to be off", async () => {
  const p = await pair();
  let ctx!: LayerContext;
  let finish!: () => void;
  const slow: Layer = {
    inbound() {},
    // The write queued before remove() is still going through when remove() is called.
    outbound: (b) => new Promise<void>((resolve) => finish = resolve).then(() => ctx.down(xor(b))),
    endOutbound: () => ctx.endDown(),
    removed: () => [],
    close() {},
  };
  p.h.pushLayer((c) => (ctx = c, slow));
  p.h.pushWrite("in\n"); // through the layer
  await tick(10);
  ctx.remove();
  p.h.pushWrite("out\n"); // must not reach the layer: it is being removed
  await tick(10);
  finish();
  p.h.pushShutdown();
  const got = await readAll(p.peer);
  assert.deepEqual(got, new Uint8Array([...xor(enc.encode("in\n")), ...enc.encode("out\n")]));
  await p.close();
});

Deno.test("layers: destroy closes the layers and the connection", async () => {
  const p = await pair();
  let closed = 0;
  p.h.pushLayer((ctx) => {
    const layer = new XorLayer(ctx);
    layer.close = () => void closed++;
    return layer;
  });
  p.h.destroy();
  await p.h.closed;
  assert.equal(closed, 1);
  assert.equal(await p.peer.read(new Uint8Array(1)), null);
  await p.close();
});

Deno.test("layers: pushLayer on a destroyed handle throws EPIPE", () => {
  const h = new Handle({
    reader: { read: () => Promise.resolve(null) },
    writer: { write: (b) => Promise.resolve(b.length) },
  });
  h.destroy();
  assert.throws(() => h.pushLayer((ctx) => new XorLayer(ctx)), { code: "EPIPE" });
});
