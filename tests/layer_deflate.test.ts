/**
 * A third-party layer in one file: IMAP's `COMPRESS=DEFLATE` (RFC 4978), raw DEFLATE both
 * ways with a sync flush after each write, pushed on a live connection after the command and
 * its `OK`. The client's first compressed bytes may arrive together with the `OK` exchange:
 * whatever is in `h.rbuf` when the layer is pushed is its first input.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as zlib from "node:zlib";
import { Handle, HandleError, type Layer, type LayerContext, line } from "../mod.ts";
import { readAll, writeAll } from "./_net.ts";

/** RFC 4978 compression: inflate what arrives, deflate (sync-flushed) what is written. */
class Deflate implements Layer {
  readonly #ctx: LayerContext;
  readonly #inflate = zlib.createInflateRaw();
  readonly #deflate = zlib.createDeflateRaw();

  constructor(ctx: LayerContext) {
    this.#ctx = ctx;
    this.#inflate.on("data", (bytes: Uint8Array) => ctx.up(bytes));
    this.#inflate.on("error", (e: Error) => {
      ctx.fail(new HandleError("EBADMSG", `DEFLATE: ${e.message}`, { cause: e }));
    });
  }

  inbound(bytes: Uint8Array | null): void {
    // RFC 4978 never finishes the DEFLATE stream: the connection's end is the end.
    if (bytes === null) this.#inflate.flush(() => this.#ctx.end()); // after what is inflating
    else this.#inflate.write(bytes);
  }

  outbound(bytes: Uint8Array): Promise<void> {
    const chunks: Uint8Array[] = [];
    const collect = (c: Uint8Array) => chunks.push(c);
    this.#deflate.on("data", collect);
    this.#deflate.write(bytes);
    return new Promise<void>((resolve) => {
      this.#deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.#deflate.off("data", collect);
        resolve();
      });
    }).then(() => this.#ctx.down(Buffer.concat(chunks)));
  }

  endOutbound(): Promise<void> {
    return this.#ctx.endDown();
  }

  removed(): Uint8Array[] {
    return [];
  }

  close(): void {
    this.#inflate.destroy();
    this.#deflate.destroy();
  }
}

Deno.test("layer: IMAP COMPRESS=DEFLATE as a pushed layer, both ways, after a plaintext exchange", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = (async () => {
    const h = new Handle(await listener.accept());
    assert.equal(await h.read(line), "a1 COMPRESS DEFLATE");
    h.pushWrite("a1 OK DEFLATE active\r\n");
    h.pushLayer((ctx) => new Deflate(ctx));
    const lines: string[] = [];
    for await (const l of h.iterate(line)) {
      lines.push(l);
      h.pushWrite(`* echo ${l}\r\n`);
    }
    await h[Symbol.asyncDispose]();
    return lines;
  })();
  const client = new Handle(
    await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
  );
  client.pushWrite("a1 COMPRESS DEFLATE\r\n");
  assert.equal(await client.read(line), "a1 OK DEFLATE active");
  client.pushLayer((ctx) => new Deflate(ctx));
  const commands = ["a2 NOOP", "a3 SELECT INBOX", "a4 FETCH 1:* (FLAGS)".repeat(20)];
  for (const c of commands) client.pushWrite(`${c}\r\n`);
  for (const c of commands) assert.equal(await client.read(line), `* echo ${c}`);
  await client[Symbol.asyncDispose]();
  assert.deepEqual(await server, commands);
  listener.close();
});

Deno.test("layer: the bytes on the wire after COMPRESS are raw DEFLATE, and the ones before are not", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peer = Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const h = new Handle(await listener.accept());
  const raw = await peer;
  // The command, then compressed bytes in the same write: they are in h.rbuf at the push.
  const compressed = zlib.deflateRawSync(new TextEncoder().encode("a2 NOOP\r\n"), {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  const first = new TextEncoder().encode("a1 COMPRESS DEFLATE\r\n");
  const both = new Uint8Array(first.length + compressed.length);
  both.set(first);
  both.set(compressed, first.length);
  await writeAll(raw, both);
  assert.equal(await h.read(line), "a1 COMPRESS DEFLATE");
  h.pushWrite("a1 OK\r\n");
  h.pushLayer((ctx) => new Deflate(ctx));
  assert.equal(await h.read(line), "a2 NOOP");
  h.pushWrite("a2 OK NOOP done\r\n");
  await h.drain();
  h.destroy();
  const wire = await readAll(raw);
  const plain = "a1 OK\r\n";
  assert.equal(new TextDecoder().decode(wire.subarray(0, plain.length)), plain);
  const rest = zlib.inflateRawSync(wire.subarray(plain.length), {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  assert.equal(new TextDecoder().decode(rest), "a2 OK NOOP done\r\n");
  raw.close();
  listener.close();
});
