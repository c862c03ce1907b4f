import assert from "node:assert/strict";
import type { Handle, Layer, LayerContext } from "../mod.ts";
import { pair, tick, writeAll } from "./_net.ts";

/** `n` bytes of a pattern that shows any loss, repeat or reorder. */
function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed + (i >> 8)) & 0xff);
}

/**
 * Sends `n` bytes from `peer` to a handle that consumes whatever arrives, waits until all of
 * them were read, then leaves the handle idle for a while (its next read pending).
 */
async function burstThenIdle(h: Handle, peer: Deno.Conn, n: number): Promise<void> {
  let total = 0;
  h.onRead = (h) => {
    total += h.rbuf.length;
    h.rbuf.consume(h.rbuf.length);
  };
  await writeAll(peer, pattern(n, n & 0xff));
  while (total < n) await tick();
  await tick(20);
}

Deno.test("idle read: after a burst, a waiting handle holds 16 KiB at most, not its grown read size", async () => {
  const { h, peer, close } = await pair();
  const received: Uint8Array[] = [];
  let total = 0;
  h.onRead = (h) => {
    received.push(h.rbuf.take(h.rbuf.length));
    total += received.at(-1)!.length;
  };
  // Two bursts, with an idle wait after each; neither is a multiple of a read size.
  const bursts = [pattern(1_000_003, 1), pattern(777_777, 2)];
  for (const burst of bursts) {
    const before = total;
    await writeAll(peer, burst);
    while (total < before + burst.length) await tick();
    await tick(20);
    // The reads grew for the burst (to 128 KiB); the read now waiting holds 16 KiB at most,
    // and the buffer gave back what the burst grew it to.
    assert.ok(h.rbuf.capacity <= 16384, `capacity ${h.rbuf.capacity} while idle`);
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const piece of received) all.set(piece, (at += piece.length) - piece.length);
  assert.deepEqual(all, new Uint8Array([...bursts[0], ...bursts[1]]));
  await close();
});

Deno.test("idle read: with the readSize option, a waiting read holds that much, however far reads grew", async () => {
  const { h, peer, close } = await pair({ readSize: 512 });
  await burstThenIdle(h, peer, 300_001);
  assert.ok(h.rbuf.capacity <= 512, `capacity ${h.rbuf.capacity} while idle`);
  // A line read still works from there, split over the small read and the next.
  const line = h.read("line");
  await writeAll(peer, "x".repeat(5000) + "\n");
  assert.equal(await line, "x".repeat(5000));
  await close();
});

/** Passes bytes up unchanged, and records how large an array each read was made in. */
class SizeRecorder implements Layer {
  readSizes: number[] = [];
  constructor(private ctx: LayerContext) {}
  inbound(bytes: Uint8Array | null): void {
    if (bytes === null) return this.ctx.end();
    this.readSizes.push(bytes.buffer.byteLength);
    this.ctx.up(bytes);
  }
  outbound(bytes: Uint8Array): Promise<void> {
    return this.ctx.down(bytes);
  }
  endOutbound(): Promise<void> {
    return this.ctx.endDown();
  }
  removed(): Uint8Array[] {
    return [];
  }
  close(): void {}
}

Deno.test("idle read: with a layer pushed, the read that waits after a burst is small too", async () => {
  const { h, peer, close } = await pair();
  let layer!: SizeRecorder;
  h.pushLayer((ctx) => layer = new SizeRecorder(ctx));
  await burstThenIdle(h, peer, 1_000_003);
  assert.ok(Math.max(...layer.readSizes) > 16384, "the reads grew during the burst");
  const seen = layer.readSizes.length;
  await writeAll(peer, "after the wait\n");
  assert.equal(await h.read("line"), "after the wait");
  // The read that waited was made in an array of the idle read size.
  assert.equal(layer.readSizes[seen], 16384);
  await close();
});
