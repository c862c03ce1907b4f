/**
 * Servers that clean up after themselves: an error nobody receives destroys its handle and is
 * reported once (AnyEvent::Handle without `on_error`), an async handler's settled promise ends
 * its connection, and every fatal error of a served connection is reported exactly once, to
 * `onError` or else stderr, whatever route it took.
 */
import assert from "node:assert/strict";
import { chunk, Handle, HandleError, type HandleServer, json, line, netstring } from "../mod.ts";
import { readAll, writeAll } from "./_net.ts";

/** Runs `fn` with console.error captured; returns what it printed, a line per call. */
async function stderrOf(fn: () => Promise<void>): Promise<string[]> {
  const logged: string[] = [];
  const { error } = console;
  console.error = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.error = error;
  }
  return logged;
}

function portOf(server: HandleServer<Handle>): number {
  return (server.addr as Deno.NetAddr).port;
}

async function connect(server: HandleServer<Handle>): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port: portOf(server) });
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

// ---- an error nobody receives ----

Deno.test("a timeout with neither onTimeout nor onError destroys the handle, reported once", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peer = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const conn = await listener.accept();
  listener.close();
  let err: unknown;
  const logged = await stderrOf(async () => {
    const h = new Handle(conn, { timeout: 0.1 });
    h.startRead();
    err = await h.closed.catch((e) => e);
  });
  assert.ok(err instanceof HandleError);
  assert.equal(err.code, "ETIMEDOUT");
  assert.equal(err.fatal, true);
  assert.deepEqual(logged, [
    "@anyevent/handle: uncaught ETIMEDOUT: No activity for 0.1 s (timeout)",
  ]);
  assert.equal((await readAll(peer)).length, 0); // the connection is closed
  peer.close();
});

Deno.test("a timeout with onError stays non-fatal and the handle goes on", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peer = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const conn = await listener.accept();
  listener.close();
  const seen: HandleError[] = [];
  const h = new Handle(conn, {
    timeout: 0.05,
    onError: (h, err) => {
      seen.push(err);
      if (seen.length === 2) h.timeout = 0;
    },
  });
  while (seen.length < 2) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen.map((e) => [e.code, e.fatal]), [["ETIMEDOUT", false], [
    "ETIMEDOUT",
    false,
  ]]);
  assert.equal(h.destroyed, false);
  await writeAll(peer, "still here\n");
  assert.equal(await h.read(line), "still here");
  h.destroy();
  peer.close();
});

Deno.test("a timeout with a pending promise read rejects it and prints nothing", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peer = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const conn = await listener.accept();
  listener.close();
  const logged = await stderrOf(async () => {
    const h = new Handle(conn, { rtimeout: 0.05 });
    await assert.rejects(h.read(line), { code: "ETIMEDOUT", fatal: true });
    assert.equal(h.destroyed, true);
  });
  assert.deepEqual(logged, []);
  peer.close();
});

Deno.test("a bad JSON text in callback style without onError destroys the handle, reported once", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peer = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const conn = await listener.accept();
  listener.close();
  const values: unknown[] = [];
  let err: unknown;
  const logged = await stderrOf(async () => {
    const h = new Handle(conn);
    h.pushRead(json, (_h, value) => values.push(value));
    h.pushRead(json, (_h, value) => values.push(value));
    await writeAll(peer, '{"a":1} {nope} {"b":2}');
    err = await h.closed.catch((e) => e);
  });
  assert.deepEqual(values, [{ a: 1 }]);
  assert.ok(err instanceof HandleError);
  assert.equal(err.code, "EBADMSG");
  assert.equal(logged.length, 1);
  assert.match(logged[0], /^@anyevent\/handle: uncaught EBADMSG: /);
  peer.close();
});

Deno.test("serve: the README's timeout closes an idle connection, reported once", async () => {
  let server!: HandleServer<Handle>;
  let closedAfter = 0;
  const logged = await stderrOf(async () => {
    server = Handle.serve(
      { hostname: "127.0.0.1", port: 0, handle: { timeout: 0.1 } },
      async (h) => {
        h.pushWrite("220 ready\r\n");
        for await (const command of h.iterate(line)) h.pushWrite(`250 ${command}\r\n`);
      },
    );
    const client = await connect(server);
    const started = performance.now();
    assert.equal(text(await readAll(client)), "220 ready\r\n");
    closedAfter = performance.now() - started;
    client.close();
    await server.shutdown(1);
  });
  assert.ok(closedAfter >= 80 && closedAfter < 2000, `closed after ${closedAfter} ms`);
  assert.deepEqual(logged, [
    "@anyevent/handle: uncaught ETIMEDOUT: No activity for 0.1 s (timeout)",
  ]);
  assert.equal(server.connections, 0);
  assert.deepEqual(server.stats.errors, { ETIMEDOUT: 1 });
});

// ---- an async handler's end is its connection's end ----

Deno.test("serve: an async handler that ends at end of input closes its socket", async () => {
  const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, async (h) => {
    for await (const l of h.iterate(line)) h.pushWrite(`echo ${l}\n`);
    h.pushWrite("bye\n"); // still leaves: the end is destroy() with linger
  });
  const clients = await Promise.all(Array.from({ length: 20 }, () => connect(server)));
  for (const [i, c] of clients.entries()) {
    await writeAll(c, `hello ${i}\n`);
    await c.closeWrite();
  }
  for (const [i, c] of clients.entries()) {
    assert.equal(text(await readAll(c)), `echo hello ${i}\nbye\n`);
    c.close();
  }
  while (server.connections > 0) await new Promise((r) => setTimeout(r, 5));
  const started = performance.now();
  await server.shutdown(30);
  assert.ok(performance.now() - started < 1000, "shutdown had nothing to wait for");
});

Deno.test("serve: a handler that returns nothing keeps its handle open", async () => {
  const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, (h) => {
    h.pushRead(line, (h, l) => {
      h.pushWrite(`late ${l}\n`);
      h.destroy();
    });
  });
  const client = await connect(server);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(server.connections, 1);
  await writeAll(client, "one\n");
  assert.equal(text(await readAll(client)), "late one\n");
  client.close();
  await server.shutdown(1);
});

Deno.test("serve: a handler that resolves while its reply is queued still sends it", async () => {
  const big = "x".repeat(1 << 20) + "\n";
  const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, async (h) => {
    await h.read(line);
    h.pushWrite(big);
  });
  const client = await connect(server);
  await writeAll(client, "go\n");
  assert.equal((await readAll(client)).length, big.length);
  client.close();
  await server.shutdown(1);
});

// ---- every fatal error of a served connection is reported exactly once ----

type Route = {
  name: string;
  send: string;
  code: string;
  handler: (h: Handle) => void | Promise<void>;
};

const ROUTES: Route[] = [
  {
    name: "a callback throws",
    send: "boom\n",
    code: "ECALLBACK",
    handler: (h) => {
      h.pushRead(line, () => {
        throw new Error("bug in the callback");
      });
    },
  },
  {
    name: "a promise read rejects",
    send: "x".repeat(300) + "\n",
    code: "EMSGSIZE",
    handler: async (h) => {
      await h.read(line({ maxLength: 100 }));
    },
  },
  {
    name: "an iterate step rejects",
    send: "0123456789".repeat(50),
    code: "ENOSPC",
    handler: async (h) => {
      for await (const l of h.iterate(line)) h.pushWrite(l);
    },
  },
  {
    name: "a decoder fails",
    send: "5:hello!",
    code: "EBADMSG",
    handler: (h) => {
      h.pushRead(netstring, () => {});
    },
  },
  {
    name: "the handler rejects after a fatal error",
    send: "boom\n",
    code: "ECALLBACK",
    handler: async (h) => {
      h.pushRead(line, () => {
        throw new Error("bug in the callback");
      });
      await h.closed; // rejects with the callback's error, reported already
    },
  },
];

for (const route of ROUTES) {
  for (const withOnError of [false, true]) {
    Deno.test(`serve: ${route.name}: reported once, to ${withOnError ? "onError" : "stderr"}`, async () => {
      const told: HandleError[] = [];
      let server!: HandleServer<Handle>;
      const logged = await stderrOf(async () => {
        server = Handle.serve(
          {
            hostname: "127.0.0.1",
            port: 0,
            handle: {
              rbufMax: 256,
              onError: withOnError ? (_h, err) => void told.push(err) : undefined,
            },
          },
          route.handler,
        );
        const client = await connect(server);
        await writeAll(client, route.send);
        await readAll(client).catch(() => {}); // the server closes the connection
        client.close();
        while (server.connections > 0) await new Promise((r) => setTimeout(r, 5));
        await server.shutdown(1);
      });
      if (withOnError) {
        assert.deepEqual(told.map((e) => e.code), [route.code]);
        assert.deepEqual(logged, []);
      } else {
        assert.equal(logged.length, 1, logged.join("\n"));
        assert.ok(logged[0].includes(route.code), logged[0]);
      }
      assert.deepEqual(server.stats.errors, { [route.code]: 1 });
    });
  }
}

Deno.test("serve: a handler that catches its handle's error has it counted, not printed", async () => {
  let caught = "";
  const logged = await stderrOf(async () => {
    const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, async (h) => {
      try {
        await h.read(chunk(4));
      } catch (e) {
        caught = (e as HandleError).code;
      }
    });
    const client = await connect(server);
    await writeAll(client, "ab");
    await client.closeWrite();
    await readAll(client);
    client.close();
    while (server.connections > 0) await new Promise((r) => setTimeout(r, 5));
    await server.shutdown(1);
    assert.deepEqual(server.stats.errors, { EPIPE: 1 });
  });
  assert.equal(caught, "EPIPE");
  assert.deepEqual(logged, []);
});

Deno.test("serve: a client leaving before it sent anything is not reported", async () => {
  const logged = await stderrOf(async () => {
    const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, async (h) => {
      await h.read(line);
    });
    for (let i = 0; i < 10; i++) (await connect(server)).close();
    while (server.stats.closedWithoutData < 10) await new Promise((r) => setTimeout(r, 5));
    await server.shutdown(1);
    assert.deepEqual(server.stats.errors, {});
  });
  assert.deepEqual(logged, []);
});

Deno.test("serve: a handle destroyed by its handler is not an error when the handler then fails a write", async () => {
  const logged = await stderrOf(async () => {
    const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, async (h) => {
      await h.read(line);
      h.destroy();
      h.pushWrite("too late\n"); // EPIPE: the handle is destroyed
    });
    const client = await connect(server);
    await writeAll(client, "hi\n");
    await readAll(client);
    client.close();
    while (server.connections > 0) await new Promise((r) => setTimeout(r, 5));
    await server.shutdown(1);
  });
  assert.deepEqual(logged, []);
});
