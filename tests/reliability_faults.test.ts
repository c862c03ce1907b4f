/**
 * Reliability under faults: peers that reset or die with data in flight, end of input inside a
 * frame, writes to a closed peer, handles destroyed at random moments of two-way traffic, and
 * a server shut down with busy connections.
 *
 * For each: every handle reports at most one error, a fatal HandleError with a documented
 * code; every `closed` and pending promise settles (awaited with a timeout); no rejection goes
 * unhandled (the test runner fails on one); the open file descriptors come back to where they
 * were (`/proc/self/fd`: Deno 2 has no `Deno.resources()`), and the runner's resource and op
 * sanitizers are on.
 */
import assert from "node:assert/strict";
import { Handle, HandleError, type HandleErrorCode } from "../mod.ts";
import {
  assertAtMostOneError,
  assertFdsBack,
  bytePool,
  closedWith,
  describe,
  later,
  openFds,
  Rng,
  sameBytes,
  settled,
  sleep,
  watch,
  within,
} from "./_reliability.ts";
import { writeAll } from "./_net.ts";

const MIB = 2 ** 20;
const RESET: HandleErrorCode[] = ["ECONNRESET", "EPIPE"];

/** A connected pair of raw TCP conns over loopback. */
async function tcpPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const peer = await accepted;
  listener.close();
  return [conn, peer];
}

/** Reads at least `n` bytes from a raw conn, and throws them away. */
async function readAtLeast(conn: Deno.Conn, n: number): Promise<void> {
  const buf = new Uint8Array(256 * 1024);
  for (let got = 0; got < n;) {
    const r = await conn.read(buf);
    if (r === null) throw new Error(`end of input after ${got} of ${n} bytes`);
    got += r;
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** Checks a promise rejected with a fatal HandleError among `codes`; returns the error. */
function rejectedWith(
  result: PromiseSettledResult<unknown>,
  codes: readonly HandleErrorCode[],
  what: string,
): HandleError {
  assert.equal(result.status, "rejected", `${what} resolved`);
  const err = (result as PromiseRejectedResult).reason;
  assert.ok(err instanceof HandleError, `${what}: ${err}`);
  assert.ok(codes.includes(err.code), `${what}: ${err.code} (${err.message}), expected ${codes}`);
  return err;
}

Deno.test("faults: a peer that resets while 64 MiB are queued gives one ECONNRESET or EPIPE, and the pending read, drain and closed all reject with it", async () => {
  const fds = openFds();
  const [conn, peer] = await tcpPair();
  const w = watch();
  const h = new Handle(conn, w.options);
  const read = later(h.read("line"));
  h.pushWrite(new Uint8Array(64 * MIB));
  const drained = later(h.drain());
  await readAtLeast(peer, 1 * MIB);
  // Closing with unread bytes in its receive buffer makes the kernel send RST, not FIN.
  peer.close();
  const [r, d] = await settled<unknown>([read, drained], 10_000, "the pending read and drain");
  const err = rejectedWith(r, RESET, "the pending read");
  assert.equal(rejectedWith(d, RESET, "drain()"), err);
  assert.equal(await closedWith(h, 5000, "reset"), err);
  assert.equal(w.errors.length, 1, describe(w.errors));
  assertAtMostOneError(h, w.errors, RESET, "reset");
  assert.throws(() => h.pushWrite("more"), (e) => e instanceof HandleError && e.code === "EPIPE");
  assert.ok(h.wbufLength === 0, "the queue is dropped");
  await assertFdsBack(fds);
});

Deno.test("faults: a peer process killed with SIGKILL while 64 MiB are queued gives one ECONNRESET or EPIPE", async () => {
  const fds = openFds();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // The child reads 1 MiB, says so, then stops reading and waits to be killed.
  const code = `
    const c = await Deno.connect({ hostname: "127.0.0.1", port: ${listener.addr.port} });
    const buf = new Uint8Array(65536);
    for (let n = 0; n < ${MIB};) n += (await c.read(buf)) ?? 0;
    console.log("read 1 MiB");
    setInterval(() => {}, 1000);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", code],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const conn = await within(listener.accept(), 20_000, "the child connecting");
  listener.close();
  const w = watch();
  const h = new Handle(conn, w.options);
  const read = later(h.read("netstring"));
  h.pushWrite(new Uint8Array(64 * MIB));
  const drained = later(h.drain());
  // The child's stdout, read through a handle as well.
  const status = Handle.fromStreams(child.stdout, child.stdin);
  assert.equal(await within(status.read("line"), 20_000, "the child's report"), "read 1 MiB");
  child.kill("SIGKILL");
  assert.equal((await within(child.status, 10_000, "the child exiting")).signal, "SIGKILL");
  const [r, d] = await settled<unknown>([read, drained], 10_000, "the pending read and drain");
  const err = rejectedWith(r, RESET, "the pending read");
  assert.equal(rejectedWith(d, RESET, "drain()"), err);
  assert.equal(await closedWith(h, 5000, "killed peer"), err);
  assertAtMostOneError(h, w.errors, RESET, "killed peer");
  assert.equal(w.errors.length, 1);
  status.destroy();
  await closedWith(status, 5000, "the child's stdout handle");
  await assertFdsBack(fds);
});

/** Frames cut short: the bytes sent before the peer's FIN, and the read that waits for more. */
const PARTIAL: [string, (h: Handle) => Promise<unknown>, string | Uint8Array][] = [
  ["netstring", (h) => h.read("netstring"), "10:abc"],
  ["netstring header", (h) => h.read("netstring"), "12"],
  ["line", (h) => h.read("line"), "no end of line"],
  ["line with CR", (h) => h.read("line"), "almost\r"],
  ["packstring N", (h) => h.read("packstring", "N"), new Uint8Array([0, 0, 0, 9, 1, 2, 3])],
  ["packstring w", (h) => h.read("packstring", "w"), new Uint8Array([0x81])],
  ["chunk", (h) => h.read("chunk", 10), "abc"],
  ["json", (h) => h.read("json"), '{"a": [1, 2'],
  ["regex", (h) => h.read("regex", /END/), "no terminator"],
  ["proxy", (h) => h.read("proxy"), "PROXY TCP4 192.0.2.1 "],
];

for (const [name, read, bytes] of PARTIAL) {
  Deno.test(`faults: end of input inside a ${name} frame rejects the read with one fatal EPIPE`, async () => {
    const fds = openFds();
    const [conn, peer] = await tcpPair();
    const w = watch();
    const h = new Handle(conn, w.options);
    const pending = later(read(h));
    await writeAll(peer, bytes);
    await peer.closeWrite();
    const [r] = await settled([pending], 5000, `the ${name} read`);
    const err = rejectedWith(r, ["EPIPE"], `the ${name} read`);
    assert.equal(err.fatal, true);
    assert.equal(await closedWith(h, 5000, name), err);
    assert.equal(w.errors.length, 1, describe(w.errors));
    assertAtMostOneError(h, w.errors, ["EPIPE"], name);
    peer.close();
    await assertFdsBack(fds);
  });
}

Deno.test("faults: a peer Handle that half-closes inside a frame makes the reading Handle fail with EPIPE, and both close", async () => {
  const fds = openFds();
  const [conn, peerConn] = await tcpPair();
  const w = watch();
  const wp = watch({ onEof: () => {} });
  const h = new Handle(conn, w.options);
  const peer = new Handle(peerConn, wp.options);
  const frames: Uint8Array[] = [];
  h.pushRead("netstring", function more(h, payload) {
    frames.push(payload);
    h.pushRead("netstring", more);
  });
  peer.pushWrite("netstring", "whole");
  peer.pushWrite("5:hal"); // the rest never comes
  peer.pushShutdown();
  assert.ok(await closedWith(h, 5000, "reader") instanceof HandleError);
  assert.deepEqual(frames.map((f) => new TextDecoder().decode(f)), ["whole"]);
  assertAtMostOneError(h, w.errors, ["EPIPE"], "reader");
  assert.equal(w.errors.length, 1);
  assert.equal(h.rbuf.length, 5, "the partial frame is still there to inspect");
  // The peer sees the reader's close as end of input (onEof), and no error.
  await within(new Promise<void>((resolve) => (peer.onEof = () => resolve())), 5000, "peer EOF");
  peer.destroy();
  assert.equal(await closedWith(peer, 5000, "peer"), undefined);
  assert.equal(wp.errors.length, 0, describe(wp.errors));
  await assertFdsBack(fds);
});

Deno.test("faults: a reset while a read is pending, with part of a frame buffered, rejects that read once with ECONNRESET or EPIPE", async () => {
  const fds = openFds();
  const [conn, peer] = await tcpPair();
  const w = watch();
  const h = new Handle(conn, w.options);
  const pending = later(h.read("netstring"));
  const queued = later(h.read("line"));
  await writeAll(peer, "100:the first few bytes");
  h.pushWrite(new Uint8Array(1 * MIB)); // the peer will not read these
  await sleep(20);
  assert.equal(h.rbuf.length, 23, "the partial frame is buffered");
  peer.close(); // unread bytes: RST
  const [r, l] = await settled<unknown>([pending, queued], 5000, "the pending reads");
  const err = rejectedWith(r, RESET, "the pending netstring read");
  assert.equal(rejectedWith(l, RESET, "the read queued behind it"), err);
  assert.equal(await closedWith(h, 5000, "reset"), err);
  assert.equal(w.errors.length, 1, describe(w.errors));
  assertAtMostOneError(h, w.errors, RESET, "reset");
  await assertFdsBack(fds);
});

Deno.test("faults: writing to a peer that closed (with or without its end of input seen first) fails once with EPIPE or ECONNRESET; later writes throw EPIPE", async () => {
  for (const withEof of [false, true]) {
    const fds = openFds();
    const [conn, peer] = await tcpPair();
    let eofs = 0;
    const w = watch(withEof ? { onEof: () => eofs++ } : {});
    const h = new Handle(conn, w.options);
    peer.close(); // nothing unread: FIN; the next bytes that arrive are answered with RST
    if (withEof) {
      // The handle notices the FIN first (onEof keeps a read going), then writes.
      await within(
        (async () => {
          while (eofs === 0) await sleep(1);
        })(),
        5000,
        "onEof",
      );
    }
    let pushed = 0;
    const chunk = new Uint8Array(64 * 1024);
    await within(
      (async () => {
        while (!h.destroyed && pushed < 256 * MIB) {
          h.pushWrite(chunk);
          pushed += chunk.length;
          await h.drain().catch(() => {});
        }
      })(),
      10_000,
      "writes to a closed peer failing",
    );
    assert.equal(h.destroyed, true, `still writing after ${pushed} bytes`);
    assert.equal(w.errors.length, 1, describe(w.errors));
    assertAtMostOneError(h, w.errors, RESET, `withEof ${withEof}`);
    assert.equal(await closedWith(h, 5000, "closed peer"), w.errors[0]);
    assert.equal(eofs, withEof ? 1 : 0, "onEof is called once when set");
    assert.throws(() => h.pushWrite("x"), (e) => e instanceof HandleError && e.code === "EPIPE");
    await assert.rejects(h.drain(), (e) => e === w.errors[0]);
    await assertFdsBack(fds);
  }
});

// ---- 200 pairs destroyed at random moments ----

const PAIRS = 200;
const TRAFFIC_POOL = bytePool(1 * MIB, 0xfa17);
const ACTIONS = [
  "destroy one end",
  "destroy one end with linger 0",
  "destroy both ends",
  "half-close one end, then destroy it",
  "close the socket under one end",
] as const;

/** The frames one side sends: sizes and places in the pool from a seeded sequence. */
function frameAt(rng: Rng): Uint8Array {
  const size = rng.int(0, 32 * 1024);
  const at = rng.int(0, TRAFFIC_POOL.length - size);
  return TRAFFIC_POOL.subarray(at, at + size);
}

interface Side {
  h: Handle;
  conn: Deno.TcpConn;
  errors: HandleError[];
  /** The writer and reader loops; they end when the handle fails or closes (they reject only
   * on a test failure: a frame that differs, or an error that is not a HandleError). */
  loops: Promise<void>[];
  framesRead: number;
  destroyedAt?: number;
  closedAt?: number;
  /** Set before `pushShutdown()`: the writer stops (writing afterwards throws a TypeError). */
  halfClosed?: boolean;
}

function startSide(conn: Deno.TcpConn, sendSeed: number, receiveSeed: number): Side {
  // linger 5 s instead of 60: a safety bound only (the test asserts that no handle needed it;
  // the peer is either reading what lingers or gone).
  const w = watch({ linger: 5 });
  const side: Side = {
    h: new Handle(conn, w.options),
    conn,
    errors: w.errors,
    loops: [],
    framesRead: 0,
  };
  const h = side.h;
  h.closed.catch(() => {}).finally(() => side.closedAt = performance.now());
  const writer = async () => {
    const rng = new Rng(sendSeed);
    const pauses = new Rng(~sendSeed);
    try {
      while (!h.destroyed && !side.halfClosed) {
        h.pushWrite("netstring", frameAt(rng));
        if (h.wbufLength > 256 * 1024) await h.drain();
        else if (pauses.next() < 0.1) await sleep(0);
      }
      // Half-closed: the handle goes on reading until the test destroys it.
      if (side.halfClosed) await h.closed.catch(() => {});
    } catch (e) {
      assert.ok(e instanceof HandleError, `writer: ${e}`);
    }
  };
  const reader = async () => {
    const rng = new Rng(receiveSeed);
    try {
      for await (const payload of h.iterate("netstring", { maxLength: 32 * 1024 })) {
        const expected = frameAt(rng);
        assert.ok(sameBytes(payload, expected), `frame ${side.framesRead} differs`);
        side.framesRead++;
      }
    } catch (e) {
      assert.ok(e instanceof HandleError, `reader: ${e}`);
    }
  };
  // Whichever loop ends first (the peer went away, or this end was destroyed), the
  // application destroys its handle, as a real one would.
  const done = (loop: Promise<void>) =>
    later(loop.finally(() => {
      side.destroyedAt ??= performance.now();
      h.destroy();
    }));
  side.loops = [done(writer()), done(reader())];
  return side;
}

Deno.test("faults: 200 handle pairs destroyed at random moments of two-way traffic each report at most one error and all close", async () => {
  const fds = openFds();
  const rng = new Rng(0xdead);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sides: Side[][] = [];
  const faults: Promise<void>[] = [];
  const counts = new Map<string, number>();
  for (let i = 0; i < PAIRS; i++) {
    const accepted = listener.accept();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const a = startSide(conn, i * 2, i * 2 + 1);
    const b = startSide(await accepted, i * 2 + 1, i * 2);
    sides.push([a, b]);
    const action = rng.pick(ACTIONS);
    const [one, other] = rng.next() < 0.5 ? [a, b] : [b, a];
    const delay = rng.int(0, 80);
    const pause = rng.int(0, 20); // drawn now: the sequence must not depend on timing
    counts.set(action, (counts.get(action) ?? 0) + 1);
    faults.push(
      sleep(delay).then(async () => {
        one.destroyedAt ??= performance.now();
        if (action === "destroy one end") one.h.destroy();
        else if (action === "destroy one end with linger 0") {
          one.h.linger = 0;
          one.h.destroy();
        } else if (action === "destroy both ends") {
          other.destroyedAt ??= performance.now();
          one.h.destroy();
          other.h.destroy();
        } else if (action === "half-close one end, then destroy it") {
          one.halfClosed = true;
          one.h.pushShutdown();
          await sleep(pause);
          one.h.destroy();
        } else closeQuietly(one.conn);
      }),
    );
  }
  listener.close();
  await settled(faults, 5000, "the faults");
  const all = sides.flat();
  const loops = await settled(all.flatMap((s) => s.loops), 20_000, "every reader and writer loop");
  for (const loop of loops) {
    if (loop.status === "rejected") throw loop.reason; // a frame differed, or not a HandleError
  }
  const closed = await settled(all.map((s) => s.h.closed), 20_000, "every closed promise");
  let framesRead = 0;
  let slowest = 0;
  for (const [i, s] of all.entries()) {
    assert.equal(s.h.destroyed, true);
    const what = `pair ${i >> 1}, side ${i & 1}`;
    // A socket closed under the handle reads as a reset and writes as a broken pipe, never EIO.
    assertAtMostOneError(s.h, s.errors, RESET, what);
    const result = closed[i];
    // h.closed rejects exactly when an error was reported, and with that error.
    assert.equal(result.status === "rejected" ? result.reason : undefined, s.errors[0], what);
    framesRead += s.framesRead;
    slowest = Math.max(slowest, s.closedAt! - s.destroyedAt!);
  }
  // Each handle has linger: 5; none needed it (the peer was there to read, or had gone).
  assert.ok(slowest < 4000, `a handle took ${slowest} ms from destroy to closed`);
  assert.ok(framesRead > PAIRS, `only ${framesRead} frames crossed before the faults`);
  await assertFdsBack(fds);
  console.log(
    `${framesRead} frames checked; ${[...counts].map(([a, n]) => `${n} x ${a}`).join(", ")}; ${
      all.filter((s) => s.errors.length > 0).length
    } of ${all.length} handles reported an error; slowest destroy-to-closed ${
      slowest.toFixed(0)
    } ms`,
  );
});

// ---- server shutdown ----

Deno.test("faults: server.shutdown() with busy connections waits the grace period, then destroys them; everything closes", async () => {
  const fds = openFds();
  const GRACE = 0.3;
  const serverErrors = new Map<Handle, HandleError[]>();
  const served: Handle[] = [];
  const server = Handle.serve({
    hostname: "127.0.0.1",
    port: 0,
    handle: {
      onError: (h, e) => serverErrors.set(h, [...serverErrors.get(h) ?? [], e]),
      onRead(h) {
        // Echo; a client that sends "flood" gets 64 MiB it will never read.
        const data = h.rbuf.take(h.rbuf.length);
        if (data[0] === 0x66) h.pushWrite(new Uint8Array(64 * MIB));
        else h.pushWrite(data);
      },
      onEof: (h) => h.destroy(),
    },
  }, (h) => {
    served.push(h);
    // Every third connection is polite: it leaves as soon as the shutdown starts.
    if (served.length % 3 === 0) server.signal.addEventListener("abort", () => h.destroy());
  });
  const { port } = server.addr;

  interface Client {
    h: Handle;
    errors: HandleError[];
    loop: Promise<void>;
  }
  const clients: Client[] = [];
  for (let i = 0; i < 60; i++) {
    const w = watch({ onRead: (h) => h.rbuf.consume(h.rbuf.length), onEof: (h) => h.destroy() });
    const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }), w.options);
    clients.push({ h, errors: w.errors, loop: Promise.resolve() });
  }
  for (let waited = 0; served.length < clients.length && waited < 5000; waited += 5) await sleep(5);
  assert.equal(server.connections, clients.length);
  for (const [i, c] of clients.entries()) {
    const h = c.h;
    if (i === 0) {
      h.onRead = undefined; // the flood client reads nothing
      h.pushWrite("flood");
    } else if (i % 2 === 1) {
      // Busy: sends 16 KiB blocks as fast as the socket takes them, until the server goes.
      c.loop = later((async () => {
        const block = TRAFFIC_POOL.subarray(0, 16 * 1024);
        try {
          while (!h.destroyed) {
            h.pushWrite(block);
            await h.drain();
          }
        } catch (e) {
          assert.ok(e instanceof HandleError, String(e));
        }
      })());
    } // the rest are idle
  }
  await sleep(100);

  const started = performance.now();
  await within(server.shutdown(GRACE), 10_000, "server.shutdown()");
  const took = performance.now() - started;
  await within(server.finished, 1000, "server.finished");
  assert.ok(took >= GRACE * 1000 - 5, `shutdown took ${took} ms, less than the grace period`);
  assert.ok(took < GRACE * 1000 + 3000, `shutdown took ${took} ms`);
  assert.equal(server.connections, 0);
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
    "the listener is closed",
  );

  for (const h of served) {
    assert.equal(h.destroyed, true);
    await closedWith(h, 5000, "a served handle");
    assertAtMostOneError(h, serverErrors.get(h) ?? [], RESET, "a served handle");
  }
  // Each client sees the server go (end of input, or a reset for those with data in flight),
  // and the test's callbacks destroy the client then.
  for (const r of await settled(clients.map((c) => c.loop), 10_000, "the busy clients' loops")) {
    if (r.status === "rejected") throw r.reason;
  }
  clients[0].h.destroy(); // the flood client reads nothing, so it cannot notice anything
  for (const [i, c] of clients.entries()) {
    await within(
      (async () => {
        while (!c.h.destroyed) await sleep(5);
      })(),
      10_000,
      `client ${i} noticing the shutdown`,
    );
    await closedWith(c.h, 5000, `client ${i}`);
    assertAtMostOneError(c.h, c.errors, RESET, `client ${i}`);
  }
  console.log(`shutdown took ${took.toFixed(0)} ms (grace ${GRACE * 1000} ms)`);
  await assertFdsBack(fds);
});
