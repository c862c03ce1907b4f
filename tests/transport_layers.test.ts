/**
 * Transport layers other than TLS: a byte-transforming layer pushed mid-stream (from a read
 * callback with bytes buffered behind the switch, and with a read in flight), writes queued
 * before the switch leaving untransformed, and a layer that takes itself off and hands back
 * the bytes it read past its end.
 */
import assert from "node:assert/strict";
import { Handle, type LayerContext, type TransportLayer } from "../mod.ts";
import { pair, readAll, tick, writeAll } from "./_net.ts";

const KEY = 0x5a;
const enc = new TextEncoder();
const dec = new TextDecoder();

function xor(bytes: Uint8Array): Uint8Array {
  return bytes.map((b) => b ^ KEY);
}

/**
 * XORs every byte both ways. With `limit`, only that many bytes read from below are the
 * layer's; it then removes itself and hands back what followed.
 */
class XorLayer implements TransportLayer {
  readonly #ctx: LayerContext;
  readonly #early: Uint8Array[] = [];
  #earlyEof = false;
  #left: number;
  #leftover: Uint8Array[] = [];
  #detached = false;
  reads = 0;

  constructor(ctx: LayerContext, limit = Infinity) {
    this.#ctx = ctx;
    this.#left = limit;
  }

  feed(bytes: Uint8Array | null): void {
    if (bytes === null) this.#earlyEof = true;
    else this.#early.push(bytes);
  }

  async read(p: Uint8Array): Promise<number | null> {
    if (this.#detached) return 0;
    let raw = this.#early.shift();
    if (raw === undefined) {
      if (this.#earlyEof) return null;
      await this.#ctx.readsBefore;
      const buf = new Uint8Array(p.length);
      this.reads++;
      const n = await this.#ctx.below.read(buf);
      if (n === null) return null;
      raw = buf.subarray(0, n);
    }
    const mine = raw.subarray(0, Math.min(raw.length, this.#left, p.length));
    const after = raw.subarray(mine.length);
    if (after.length > 0) {
      if (this.#left - mine.length > 0) this.#early.unshift(after); // p was too small
      else this.#leftover.push(after);
    }
    this.#left -= mine.length;
    p.set(xor(mine));
    if (this.#left === 0) this.#ctx.remove();
    return mine.length;
  }

  async write(p: Uint8Array): Promise<number> {
    await this.#ctx.writesBefore;
    return await this.#ctx.below.write(xor(p));
  }

  closeWrite(): Promise<void> {
    return this.#ctx.below.closeWrite();
  }

  close(): void {}

  detach(): Promise<{ rest: Uint8Array[]; eof: boolean }> {
    this.#detached = true;
    const rest = [...this.#leftover.splice(0), ...this.#early.splice(0)];
    return Promise.resolve({ rest, eof: this.#earlyEof });
  }
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
  assert.equal(layer.reads, 0, "the read in flight was fed in; the layer did not read itself");
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
  const slow: TransportLayer = {
    feed() {},
    read: () => new Promise<number | null>(() => {}),
    write: (b) => ctx.below.write(xor(b)),
    closeWrite: () => ctx.below.closeWrite(),
    close() {},
    detach: () => new Promise((resolve) => finish = () => resolve({ rest: [], eof: false })),
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
