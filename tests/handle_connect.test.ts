import assert from "node:assert/strict";
import { Handle, HandleError } from "../mod.ts";
import { deferred } from "./_net.ts";

/** A port nothing listens on (a listener opened and closed again). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

Deno.test("connect: writes and reads queued before the connection go out in order", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connected: [string, number][] = [];
  let prepared = 0;
  const h = Handle.connect({ hostname: "127.0.0.1", port: listener.addr.port }, {
    onPrepare: () => void prepared++,
    onConnect: (_h, host, port) => connected.push([host, port]),
  });
  h.pushWrite("one\n");
  h.pushWrite("two\n");
  const reply = h.read("line");
  h.pushWrite("three\n");
  const peer = new Handle(await listener.accept());
  assert.equal(await peer.read("line"), "one");
  assert.equal(await peer.read("line"), "two");
  assert.equal(await peer.read("line"), "three");
  peer.pushWrite("ok\n");
  assert.equal(await reply, "ok");
  assert.deepEqual(connected, [["127.0.0.1", listener.addr.port]]);
  assert.equal(prepared, 1);
  h.destroy();
  peer.destroy();
  await Promise.all([h.closed, peer.closed]);
  listener.close();
});

Deno.test("connect: a refused port is a fatal ECONNREFUSED", async () => {
  const errors: HandleError[] = [];
  const h = Handle.connect({ hostname: "127.0.0.1", port: closedPort() }, {
    onError: (_h, e) => errors.push(e),
  });
  const read = h.read("line");
  await assert.rejects(h.closed, (e) => e instanceof HandleError && e.code === "ECONNREFUSED");
  await assert.rejects(read, (e) => e instanceof HandleError && e.code === "ECONNREFUSED");
  assert.equal(errors.length, 1);
  assert.equal(errors[0].fatal, true);
});

Deno.test("connect: onConnectError gets the failure instead of onError", async () => {
  const failed = deferred<HandleError>();
  const h = Handle.connect({ hostname: "127.0.0.1", port: closedPort() }, {
    onConnectError: (_h, e) => failed.resolve(e),
    onError: () => assert.fail("onError must not be called"),
  });
  assert.equal((await failed.promise).code, "ECONNREFUSED");
  await h.closed.catch(() => {});
  assert.equal(h.destroyed, true);
});

Deno.test("connect: a Unix socket path, and a path that does not exist", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/s.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const h = Handle.connect({ path });
  h.pushWrite("over unix\n");
  const peer = new Handle(await listener.accept());
  assert.equal(await peer.read("line"), "over unix");
  h.destroy();
  peer.destroy();
  await Promise.all([h.closed, peer.closed]);
  listener.close();

  const missing = Handle.connect({ path: `${dir}/missing.sock` }, { onError: () => {} });
  await assert.rejects(missing.closed, (e) => e instanceof HandleError && e.code === "ENOENT");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("connect: retry() in onConnect tries the next address of the host", async () => {
  // localhost is 127.0.0.1, then ::1; both listen on the same port here.
  const v4 = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const v6 = Deno.listen({ hostname: "::1", port: v4.addr.port });
  const seen: string[] = [];
  const h = Handle.connect({ hostname: "localhost", port: v4.addr.port }, {
    onConnect(_h, host, _port, retry) {
      seen.push(host);
      if (seen.length === 1) retry();
    },
  });
  h.pushWrite("which\n");
  const dropped = await v4.accept();
  dropped.close();
  const peer = new Handle(await v6.accept());
  assert.equal(await peer.read("line"), "which");
  assert.deepEqual(seen, ["127.0.0.1", "::1"]);
  h.destroy();
  peer.destroy();
  await Promise.all([h.closed, peer.closed]);
  v4.close();
  v6.close();
});

Deno.test("connect: an aborted signal cancels the attempt with ECANCELED", async () => {
  const controller = new AbortController();
  controller.abort();
  const h = Handle.connect({ hostname: "127.0.0.1", port: closedPort() }, {
    signal: controller.signal,
    onError: () => {},
  });
  await assert.rejects(h.closed, (e) => e instanceof HandleError && e.code === "ECANCELED");
});

Deno.test("connect: destroy while connecting ends everything cleanly", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const h = Handle.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const read = h.read("line");
  h.destroy();
  await assert.rejects(read, (e) => e instanceof HandleError && e.code === "ECANCELED");
  await h.closed;
  // The connection may have been accepted by the kernel already: drain the backlog.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const conn = await Promise.race([
    listener.accept(),
    new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 50)),
  ]);
  clearTimeout(timer);
  conn?.close();
  listener.close();
});

/** The error a connect to `target` fails with (through `h.closed`), and how long it took. */
async function connectFailure(
  target: { hostname: string; port: number } | { path: string },
): Promise<{ err: HandleError; ms: number }> {
  const t0 = performance.now();
  const reported: HandleError[] = [];
  const h = Handle.connect(target, { onConnectError: (_h, e) => reported.push(e) });
  await h.closed.catch(() => {});
  assert.equal(reported.length, 1, "onConnectError is called once");
  assert.equal(h.destroyed, true);
  return { err: reported[0], ms: performance.now() - t0 };
}

Deno.test("connect: a refused port names host:port in the message, an IPv6 address in brackets", async () => {
  const port = closedPort();
  const v4 = await connectFailure({ hostname: "127.0.0.1", port });
  assert.equal(v4.err.code, "ECONNREFUSED");
  assert.equal(v4.err.fatal, true);
  assert.ok(v4.err.cause instanceof Deno.errors.ConnectionRefused);
  assert.equal(v4.err.message, `Cannot connect to 127.0.0.1:${port}: ${v4.err.cause.message}`);
  assert.match(v4.err.message, /^Cannot connect to 127\.0\.0\.1:\d+: Connection refused/);

  const l6 = Deno.listen({ hostname: "::1", port: 0 });
  const port6 = l6.addr.port;
  l6.close();
  const v6 = await connectFailure({ hostname: "::1", port: port6 });
  assert.equal(v6.err.code, "ECONNREFUSED");
  assert.match(
    v6.err.message,
    new RegExp(`^Cannot connect to \\[::1\\]:${port6}: Connection refused`),
  );
});

Deno.test("connect: a name tried at an address it resolved to names both", async () => {
  // localhost is 127.0.0.1, then ::1: the error is the last address's, refused on both.
  const l4 = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l4.addr.port;
  const l6 = Deno.listen({ hostname: "::1", port });
  l4.close();
  l6.close();
  const { err } = await connectFailure({ hostname: "localhost", port });
  assert.equal(err.code, "ECONNREFUSED");
  assert.match(err.message, new RegExp(`^Cannot connect to \\[::1\\]:${port} \\(localhost\\): `));
});

Deno.test("connect: a missing Unix socket names its path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/missing.sock`;
    const { err } = await connectFailure({ path });
    assert.equal(err.code, "ENOENT");
    assert.match(err.message, new RegExp(`^Cannot connect to ${path}: `));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connect: a name under .invalid is ENOTFOUND at once, without asking any resolver", async () => {
  const { err, ms } = await connectFailure({ hostname: "nonexistent.invalid", port: 25 });
  assert.equal(err.code, "ENOTFOUND");
  assert.equal(err.fatal, true);
  assert.equal(
    err.message,
    'Cannot resolve host name "nonexistent.invalid": the .invalid domain never resolves (RFC 6761)',
  );
  // RFC 6761 reserves it: no DNS query is made, so it fails as fast offline or behind a
  // resolver that drops queries (a lookup could wait for the resolver's timeouts, 5 s each).
  assert.ok(ms < 2000, `took ${ms} ms`);
  const h = Handle.connect({ hostname: "Deep.Name.INVALID.", port: 25 }, { onError: () => {} });
  const read = h.read("line");
  await assert.rejects(read, (e) => e instanceof HandleError && e.code === "ENOTFOUND");
  await assert.rejects(h.closed, (e) => e instanceof HandleError && e.code === "ENOTFOUND");
});

Deno.test("connect: a name the OS cannot resolve is ENOTFOUND naming it, not EIO", async () => {
  // A 64-byte label is refused by the DNS client and by getaddrinfo alike, before any query,
  // so this takes the OS lookup path online and offline, and fails at once.
  const long = `${"a".repeat(64)}.example.com`;
  const { err, ms } = await connectFailure({ hostname: long, port: 25 });
  assert.equal(err.code, "ENOTFOUND");
  assert.equal(err.fatal, true);
  assert.match(
    err.message,
    new RegExp(`^Cannot resolve host name "${long}": failed to lookup address information: `),
  );
  assert.ok(err.cause instanceof Error);
  assert.ok(ms < 2000, `took ${ms} ms`);
  // Not a host name at all (Deno refuses it before looking it up): ENOTFOUND as well.
  const bad = await connectFailure({ hostname: "bad..name", port: 25 });
  assert.equal(bad.err.code, "ENOTFOUND");
  assert.match(bad.err.message, /^Cannot resolve host name "bad\.\.name": invalid host/);
  assert.ok(bad.err.cause instanceof URIError);
});
