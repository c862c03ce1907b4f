import assert from "node:assert/strict";
import { Handle, HandleError } from "../mod.ts";
import { deferred, pair, readAll, tick, writeAll } from "./_net.ts";

const isCode = (code: string, fatal = true) => (e: unknown) =>
  e instanceof HandleError && e.code === code && e.fatal === fatal;

Deno.test("destroy: is idempotent, resolves h.closed and closes the connection", async () => {
  const p = await pair();
  p.h.destroy();
  p.h.destroy();
  await p.h.closed;
  assert.equal(p.h.destroyed, true);
  assert.equal(p.h.error, undefined);
  assert.deepEqual(await readAll(p.peer), new Uint8Array(), "the peer sees end of input");
  await p.close();
});

Deno.test("destroy: from inside a read callback", async () => {
  const p = await pair();
  const got = deferred<string>();
  p.h.pushRead("line", (h, line) => {
    h.destroy();
    got.resolve(line);
  });
  await writeAll(p.peer, "bye\n");
  assert.equal(await got.promise, "bye");
  await p.h.closed;
  await p.close();
});

Deno.test("destroy: a pending promise read and a pending drain reject with ECANCELED", async () => {
  const p = await pair({ linger: 0 }); // the 32 MiB are dropped: h.closed need not wait for them
  const read = p.h.read("line");
  p.h.pushWrite(new Uint8Array(32 * 1024 * 1024)); // far more than the socket buffers hold
  const drained = p.h.drain();
  await tick(10);
  p.h.destroy();
  await assert.rejects(read, isCode("ECANCELED"));
  await assert.rejects(drained, isCode("ECANCELED"));
  await p.h.closed;
  await p.close();
});

Deno.test("destroy: afterwards reads and writes throw EPIPE and promise reads reject", async () => {
  const p = await pair();
  p.h.destroy();
  assert.throws(() => p.h.pushRead("line", () => {}), isCode("EPIPE"));
  assert.throws(() => p.h.pushWrite("x"), isCode("EPIPE"));
  await assert.rejects(p.h.read("line"), isCode("ECANCELED"));
  await assert.rejects(p.h.drain(), isCode("ECANCELED"));
  await assert.rejects(p.h.iterate("line").next(), isCode("ECANCELED"));
  await p.close();
});

Deno.test("destroy: called inside onError keeps h.closed rejecting with the fatal error", async () => {
  const p = await pair({ onError: (h) => h.destroy() });
  p.h.pushRead("line", () => {});
  p.peer.close();
  await assert.rejects(p.h.closed, isCode("EPIPE"));
  await p.close();
});

Deno.test("errors: a throwing callback is a fatal ECALLBACK with the thrown error as cause", async () => {
  const boom = new Error("boom");
  const reported = deferred<HandleError>();
  const p = await pair({ onError: (_h, e) => reported.resolve(e) });
  p.h.pushRead("line", () => {
    throw boom;
  });
  await writeAll(p.peer, "x\n");
  const err = await reported.promise;
  assert.equal(err.code, "ECALLBACK");
  assert.equal(err.fatal, true);
  assert.equal(err.cause, boom);
  assert.equal(p.h.destroyed, true);
  await p.close();
});

Deno.test("errors: a decoder that consumes and returns NEED_MORE is an EINVAL", async () => {
  const { defineReadType, NEED_MORE } = await import("../mod.ts");
  const broken = defineReadType("test-broken", () => ({
    decode(buf) {
      if (buf.length > 0) buf.consume(1);
      return NEED_MORE;
    },
  }));
  const p = await pair();
  const read = p.h.read(broken);
  await writeAll(p.peer, "ab");
  await assert.rejects(read, isCode("EINVAL"));
  await p.close();
});

Deno.test("rbufMax: exactly rbufMax bytes buffered is fine, one more is a fatal ENOSPC", async () => {
  const ok = await pair({ rbufMax: 10 });
  ok.h.pushRead("chunk", 100, () => {});
  await writeAll(ok.peer, "0123456789");
  await tick(30);
  assert.equal(ok.h.destroyed, false);
  assert.equal(ok.h.rbuf.length, 10);
  await ok.close();

  const over = await pair({ rbufMax: 10 });
  over.h.pushRead("chunk", 100, () => {});
  await writeAll(over.peer, "0123456789X");
  await assert.rejects(over.h.closed, isCode("ENOSPC"));
  await over.close();
});

Deno.test("rbufMax: bytes consumed in the same dispatch never trip it", async () => {
  const lines: string[] = [];
  const done = deferred();
  const p = await pair({ rbufMax: 4 });
  const onLine = (_h: unknown, line: string) => {
    lines.push(line);
    if (lines.length === 4) done.resolve();
    else p.h.pushRead("line", onLine);
  };
  p.h.pushRead("line", onLine);
  await writeAll(p.peer, "ab\ncd\nef\ngh\n"); // 12 bytes in one write
  await done.promise;
  assert.deepEqual(lines, ["ab", "cd", "ef", "gh"]);
  assert.equal(p.h.destroyed, false);
  await p.close();
});

Deno.test("errors: a socket closed under the handle fails a pending read with ECONNRESET, not EIO", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const peer = await accepted;
  listener.close();
  const h = new Handle(conn, { onError: () => {} });
  const read = h.read("line");
  await new Promise((r) => setTimeout(r, 10)); // the read is in flight
  conn.close(); // behind the handle's back
  await assert.rejects(read, isCode("ECONNRESET"));
  await h.closed.catch(() => {});
  peer.close();
});
