import assert from "node:assert/strict";
import { Handle, type HandleError } from "../mod.ts";
import { scripted, type ScriptedPeer } from "../testing/mod.ts";
import { pair, tick, writeAll } from "./_net.ts";

Deno.test("rtimeout: fires after the period and re-arms for a full period", async () => {
  const at: number[] = [];
  const t0 = performance.now();
  const p = await pair({ rtimeout: 0.05, onRtimeout: () => at.push(performance.now() - t0) });
  p.h.pushRead("line", () => {});
  await tick(170);
  assert.ok(at.length >= 2 && at.length <= 4, `fired ${at.length} times`);
  assert.ok(at[0] >= 45, `first after ${at[0]} ms`);
  assert.ok(at[1] - at[0] >= 45, "re-armed for a full period");
  await p.close();
});

Deno.test("timeout: without a callback it is a non-fatal ETIMEDOUT, and the handle lives", async () => {
  const errors: HandleError[] = [];
  const p = await pair({ timeout: 0.04, onError: (_h, e) => errors.push(e) });
  await tick(100);
  assert.ok(errors.length >= 1);
  assert.equal(errors[0].code, "ETIMEDOUT");
  assert.equal(errors[0].fatal, false);
  assert.equal(p.h.destroyed, false);
  await p.close();
});

Deno.test("rtimeout: reset by reads, so a peer that keeps talking is not cut off", async () => {
  let fired = 0;
  const p = await pair({ rtimeout: 0.08, onRtimeout: () => fired++ });
  p.h.onRead = (h) => h.rbuf.consume(h.rbuf.length);
  for (let i = 0; i < 8; i++) {
    await writeAll(p.peer, "x");
    await tick(25);
  }
  assert.equal(fired, 0);
  await p.close();
});

Deno.test("rtimeout: a slowloris peer is cut off while a normal peer is served", async () => {
  const request = "GET / HTTP/1.0\n";
  const serve = (peer: ScriptedPeer) => {
    const h = new Handle(peer.conn, { rtimeout: 0.06, onRtimeout: (h) => h.destroy() });
    return h.read("line").then((line) => {
      h.destroy();
      return line;
    }, () => "cut off");
  };
  const normal = scripted().send(...request); // a byte per read, with no pause
  assert.equal(await serve(normal), "GET / HTTP/1.0");
  await normal.done;
  const slowloris = scripted();
  for (const byte of request) slowloris.send(byte).wait(100);
  assert.equal(await serve(slowloris), "cut off");
  // Cut off in the first pause, with the rest of the request never sent.
  await assert.rejects(
    slowloris.done,
    /^Error: step 2 wait: the handle closed with 29 steps left$/,
  );
});

Deno.test("timeout: 0 disables; setting it takes effect at once, from a callback too", async () => {
  let fired = 0;
  const p = await pair({ timeout: 0 });
  p.h.onTimeout = (h) => {
    fired++;
    h.timeout = 0; // stop after the first expiry
  };
  await tick(60);
  assert.equal(fired, 0);
  p.h.timeout = 0.05; // 60 ms idle already: expires at once
  assert.equal(fired, 1);
  await tick(120);
  assert.equal(fired, 1, "disabled from inside the callback");
  assert.throws(() => p.h.timeout = -1, RangeError);
  assert.throws(() => p.h.rtimeout = NaN, RangeError);
  await p.close();
});

Deno.test("timeoutReset marks activity without I/O", async () => {
  let fired = 0;
  const p = await pair({ timeout: 0.08, onTimeout: () => fired++ });
  for (let i = 0; i < 6; i++) {
    await tick(30);
    p.h.timeoutReset();
  }
  assert.equal(fired, 0);
  await p.close();
});

Deno.test("wtimeout: a peer that does not read trips it", async () => {
  let fired = 0;
  const p = await pair({ wtimeout: 0.05, onWtimeout: () => fired++ });
  p.h.pushWrite(new Uint8Array(32 * 1024 * 1024));
  await tick(250);
  assert.ok(fired >= 1);
  await p.close();
});
