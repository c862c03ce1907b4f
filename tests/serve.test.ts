/**
 * Handle.serve: one handle per connection with the server's handle options, error isolation
 * (a throwing or rejecting onConnection destroys only its connection and is reported once),
 * maxConnections, the PROXY protocol before onConnection, shutdown with a grace period, the
 * signal option, Unix sockets, and TLS from the first byte.
 */
import assert from "node:assert/strict";
import { encodeProxyV1, encodeProxyV2, Handle, type HandleError } from "../mod.ts";
import { readAll, tick, writeAll } from "./_net.ts";
import { CLIENT, SERVER } from "./_tls.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

function portOf(server: { addr: Deno.NetAddr }): number {
  return server.addr.port;
}

/** Nothing listens on the port any more: a connection is refused (or reset from the backlog). */
async function notAccepting(port: number): Promise<void> {
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch (e) {
    const refused = e instanceof Deno.errors.ConnectionRefused ||
      e instanceof Deno.errors.ConnectionReset;
    assert.ok(refused, String(e));
    return;
  }
  try {
    await assert.rejects(conn.read(new Uint8Array(1)), Deno.errors.ConnectionReset);
  } finally {
    conn.close();
  }
}

const echo = async (h: Handle) => {
  for await (const line of h.iterate("line")) h.pushWrite(`${line}\n`);
  h.destroy();
};

Deno.test("serve: every connection gets its own handle; connections counts the open ones", async () => {
  const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, echo);
  const clients = await Promise.all(
    [0, 1, 2].map(async () =>
      new Handle(await Deno.connect({ hostname: "127.0.0.1", port: portOf(server) }))
    ),
  );
  for (const [i, c] of clients.entries()) c.pushWrite(`hello ${i}\n`);
  for (const [i, c] of clients.entries()) assert.equal(await c.read("line"), `hello ${i}`);
  assert.equal(server.connections, 3);
  await Promise.all(clients.map((c) => c[Symbol.asyncDispose]()));
  for (let i = 0; i < 100 && server.connections > 0; i++) await tick(5);
  assert.equal(server.connections, 0);
  await server.shutdown();
  await server.finished;
});

Deno.test("serve: a throwing or rejecting onConnection destroys that handle only, reported once", async () => {
  const reported: HandleError[] = [];
  let n = 0;
  const server = Handle.serve({
    hostname: "127.0.0.1",
    port: 0,
    handle: { onError: (_h, e) => reported.push(e) },
  }, async (h) => {
    n++;
    if (n === 1) throw new Error("sync boom");
    if (n === 2) {
      await h.read("line");
      throw new Error("async boom");
    }
    await echo(h);
  });
  const port = portOf(server);
  const a = await Deno.connect({ hostname: "127.0.0.1", port });
  assert.equal((await readAll(a)).length, 0, "the first connection is closed");
  const b = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(b, "x\n");
  assert.equal((await readAll(b)).length, 0, "the second connection is closed after its line");
  const c = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }));
  c.pushWrite("still here\n");
  assert.equal(await c.read("line"), "still here");
  assert.deepEqual(reported.map((e) => e.message), [
    "onConnection threw: sync boom",
    "onConnection threw: async boom",
  ]);
  a.close();
  b.close();
  await c[Symbol.asyncDispose]();
  await server.shutdown(1);
});

Deno.test("serve: a connection over maxConnections is closed at once, without onConnection", async () => {
  let calls = 0;
  const server = Handle.serve({ hostname: "127.0.0.1", port: 0, maxConnections: 1 }, (h) => {
    calls++;
    return echo(h);
  });
  const first = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: portOf(server) }));
  first.pushWrite("one\n");
  assert.equal(await first.read("line"), "one");
  const second = await Deno.connect({ hostname: "127.0.0.1", port: portOf(server) });
  assert.equal((await readAll(second)).length, 0);
  assert.equal(calls, 1);
  assert.equal(server.stats.overLimit, 1);
  assert.equal(server.stats.accepted, 2);
  second.close();
  await first[Symbol.asyncDispose]();
  await server.shutdown(1);
});

Deno.test("serve: shutdown stops accepting, waits for busy handles, then destroys the rest", async () => {
  const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, async (h) => {
    const line = await h.read("line");
    await tick(50); // busy: the reply comes after shutdown started
    h.pushWrite(`done ${line}\n`);
    await h.drain();
    // ... then stays open: shutdown's grace period ends it.
  });
  const port = portOf(server);
  const c = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }), { onError: () => {} });
  c.pushWrite("job\n");
  await tick(10);
  const stopped = server.shutdown(0.3);
  assert.ok(server.signal.aborted);
  await notAccepting(port);
  assert.equal(
    await c.read("line"),
    "done job",
    "the busy handle finished within the grace period",
  );
  await stopped;
  assert.equal(server.connections, 0);
  await assert.rejects(c.read("line"), { code: "EPIPE" }); // the server side was destroyed
  await assert.rejects(c.closed, { code: "EPIPE" });
});

Deno.test("serve: aborting the signal shuts the server down", async () => {
  const ac = new AbortController();
  const server = Handle.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal }, echo);
  ac.abort();
  await server.finished;
  await notAccepting(portOf(server));
});

Deno.test("serve: a Unix socket, with await using", async () => {
  const path = await Deno.makeTempFile({ suffix: ".sock" });
  await Deno.remove(path);
  {
    await using server = Handle.serve({ path }, echo);
    const c = new Handle(await Deno.connect({ transport: "unix", path }));
    c.pushWrite("unix\n");
    assert.equal(await c.read("line"), "unix");
    assert.equal(server.connections, 1);
    await c[Symbol.asyncDispose]();
  }
  await Deno.remove(path).catch(() => {});
});

Deno.test("serve: handle options apply to every connection (TLS from the first byte)", async () => {
  const server = Handle.serve(
    { hostname: "127.0.0.1", port: 0, handle: { tls: "accept", tlsOptions: SERVER } },
    echo,
  );
  const c = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: portOf(server) }), {
    tls: "connect",
    tlsOptions: CLIENT,
  });
  c.pushWrite("secret\n");
  assert.equal(await c.read("line"), "secret");
  await c[Symbol.asyncDispose]();
  await server.shutdown(1);
});

Deno.test("serve: proxy reads the PROXY header first; remoteAddr is the client's from it", async () => {
  const seen: unknown[] = [];
  const server = Handle.serve({ hostname: "127.0.0.1", port: 0, proxy: true }, (h, info) => {
    seen.push({ remote: h.remoteAddr, local: h.localAddr, version: info?.version });
    assert.equal(info?.socket.remoteAddr.hostname, "127.0.0.1");
    return echo(h);
  });
  const port = portOf(server);
  const header = {
    command: "PROXY" as const,
    protocol: "TCP4" as const,
    source: { hostname: "192.0.2.7", port: 40000 },
    destination: { hostname: "198.51.100.1", port: 443 },
  };
  for (const encode of [encodeProxyV1, encodeProxyV2]) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    // The header and the first request in one write: the request stays for the handle.
    await writeAll(
      conn,
      new Uint8Array([...encode(header as never), ...new TextEncoder().encode("hi\n")]),
    );
    const buf = new Uint8Array(16);
    const n = await conn.read(buf);
    assert.equal(text(buf.subarray(0, n!)), "hi\n");
    conn.close();
  }
  assert.deepEqual(
    seen,
    [1, 2].map((version) => ({
      remote: { transport: "tcp", hostname: "192.0.2.7", port: 40000 },
      local: { transport: "tcp", hostname: "198.51.100.1", port: 443 },
      version,
    })),
  );
  await server.shutdown(1);
});

Deno.test("serve: proxy closes a connection with a bad header or none in time, without onConnection", async () => {
  let calls = 0;
  const reported: HandleError[] = [];
  const server = Handle.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      proxy: true,
      proxyTimeout: 0.2,
      handle: { onError: (_h, e) => reported.push(e) },
    },
    () => void calls++,
  );
  const port = portOf(server);
  const bad = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(bad, "GET / HTTP/1.0\r\n\r\n");
  assert.equal((await readAll(bad)).length, 0);
  bad.close();
  assert.deepEqual(reported.map((e) => [e.code, e.fatal]), [["EBADMSG", true]]);
  const silent = await Deno.connect({ hostname: "127.0.0.1", port });
  assert.equal((await readAll(silent)).length, 0, "closed when proxyTimeout ran out");
  silent.close();
  assert.equal(calls, 0);
  // The timeout is reported like any other end of a connection in serve: to its onError.
  assert.equal(reported.length, 2);
  assert.equal(reported[1].code, "ETIMEDOUT");
  assert.equal(reported[1].fatal, true);
  assert.equal(reported[1].message, "No PROXY protocol header within 0.2 s");
  await server.shutdown(1);
});

Deno.test("serve: proxy without onError logs the timeout to stderr, once", async () => {
  const logged: string[] = [];
  const { error } = console;
  console.error = (...args: unknown[]) => void logged.push(args.join(" "));
  try {
    const server = Handle.serve(
      { hostname: "127.0.0.1", port: 0, proxy: true, proxyTimeout: 0.1 },
      () => {},
    );
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: portOf(server) });
    assert.equal((await readAll(silent)).length, 0);
    silent.close();
    await server.shutdown(1);
  } finally {
    console.error = error;
  }
  assert.deepEqual(logged, ["@anyevent/handle: serve: No PROXY protocol header within 0.1 s"]);
});

Deno.test("serve: bad options are RangeErrors", () => {
  assert.throws(() => Handle.serve({ port: 0, maxConnections: -1 }, () => {}), RangeError);
  assert.throws(() => Handle.serve({ port: 0, proxyTimeout: 0 }, () => {}), RangeError);
});
