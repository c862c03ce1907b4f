import assert from "node:assert/strict";
import { Handle, HandleError } from "../mod.ts";
import { pair, readAll, tick, writeAll } from "./_net.ts";

const isCanceled = (e: unknown) =>
  e instanceof HandleError && e.code === "ECANCELED" && e.fatal === false;

Deno.test("abort: a read in the middle of the queue is removed without consuming a byte", async () => {
  const p = await pair();
  const controller = new AbortController();
  const a = p.h.read("line");
  const b = p.h.read("line", { signal: controller.signal });
  const c = p.h.read("chunk", 3);
  controller.abort();
  await assert.rejects(b, isCanceled);
  await writeAll(p.peer, "first\nabc");
  assert.equal(await a, "first");
  assert.deepEqual(await c, new TextEncoder().encode("abc"));
  assert.equal(p.h.destroyed, false);
  await p.close();
});

Deno.test("abort: a signal aborted before the call rejects at once", async () => {
  const p = await pair();
  await assert.rejects(p.h.read("line", { signal: AbortSignal.abort() }), isCanceled);
  await p.close();
});

Deno.test("abort: options objects with more keys go to the read type", async () => {
  const p = await pair();
  const line = p.h.read("line", { maxLength: 3 });
  await writeAll(p.peer, "toolong\n");
  await assert.rejects(line, (e) => e instanceof HandleError && e.code === "EMSGSIZE");
  await p.close();
});

Deno.test("abort: drain({ signal }) stops waiting but keeps the bytes queued", async () => {
  const p = await pair();
  p.h.pushWrite(new Uint8Array(32 * 1024 * 1024));
  const controller = new AbortController();
  const drained = p.h.drain({ signal: controller.signal });
  await tick(10);
  controller.abort();
  await assert.rejects(drained, isCanceled);
  assert.ok(p.h.wbufLength > 0);
  await p.close();
});

Deno.test("dispose: await using flushes, half-closes and closes", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  let handle: Handle;
  {
    await using h = new Handle(
      await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    );
    handle = h;
    h.pushWrite("x".repeat(1 << 20));
    h.pushWrite("end");
    const peer = await accepted;
    // Read concurrently: the flush needs the peer to take the bytes.
    readAll(peer).then((b) => {
      assert.equal(b.length, (1 << 20) + 3);
      peer.close();
    });
  }
  assert.equal(handle!.destroyed, true);
  await handle!.closed;
  listener.close();
});

Deno.test("dispose: using destroys at the end of the block", async () => {
  const p = await pair();
  {
    using h = p.h;
    h.pushWrite("dropped");
  }
  assert.equal(p.h.destroyed, true);
  await p.close();
});
