/**
 * Handle.serve's accept loop under the connections every public port gets: clients that reset
 * before the server accepts them (HAProxy's health checks, port scanners, impatient clients),
 * which Deno reports from `accept()` as NotConnected, ConnectionAborted or ConnectionReset,
 * and clients that connect and leave without a word (under TLS too, before their ClientHello).
 * Neither delays the next client, logs anything, or reaches `onError`; `server.stats` counts
 * them, while a client that did send something before leaving is still reported. Out of file descriptors, the
 * server backs off, says so in one line, and serves the waiting clients once descriptors are
 * free again.
 *
 * The resets come from Perl (`tests/fixtures/reset_connects.pl`: `SO_LINGER {1, 0}` and close,
 * which Deno cannot do); the descriptor limit from `ulimit -n` in a shell around a child.
 */
import assert from "node:assert/strict";
import { Handle, type HandleError, type TlsOptions } from "../mod.ts";
import { tick } from "./_net.ts";
import { CERT, KEY, SERVER } from "./_tls.ts";

const RESETS = new URL("./fixtures/reset_connects.pl", import.meta.url).pathname;
const CHILD = new URL("./fixtures/serve_child.ts", import.meta.url).pathname;

const echo = async (h: Handle) => {
  for await (const line of h.iterate("line")) h.pushWrite(`${line}\n`);
  h.destroy();
};

/** Replaces console.error and console.warn until `restore()`, keeping what they were given. */
function captureConsole(): { lines: string[]; restore(): void } {
  const { error, warn } = console;
  const lines: string[] = [];
  console.error = (...args: unknown[]) => void lines.push(`error: ${args.join(" ")}`);
  console.warn = (...args: unknown[]) => void lines.push(`warn: ${args.join(" ")}`);
  return {
    lines,
    restore() {
      console.error = error;
      console.warn = warn;
    },
  };
}

/** Waits until `done()` holds, for up to `ms`. */
async function until(done: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !done() && Date.now() < end;) await tick(10);
}

Deno.test("serve accept: 1,000 connections reset before accept delay the next client by less than a round trip", async () => {
  const errors: HandleError[] = [];
  const logged = captureConsole();
  const server = Handle.serve({
    hostname: "127.0.0.1",
    port: 0,
    handle: { onError: (_h, err) => errors.push(err) },
  }, echo);
  try {
    const child = new Deno.Command("perl", {
      args: [RESETS, String(server.addr.port), "1000"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // A stalling accept loop (50 ms per reset) would take close to a minute here.
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const out = await child.output();
    clearTimeout(timer);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, `the resets did not finish within 30 s (${out.code}): ${stderr}`);
    const [baseline, delayed] = new TextDecoder().decode(out.stdout).trim().split(" ").map(Number);
    // One round trip to the same server takes `baseline`; with the old 50 ms pause per reset
    // the client behind them waited 25 s and more.
    assert.ok(
      delayed < baseline + 1000,
      `the client behind 1,000 resets took ${delayed} ms, one round trip ${baseline} ms`,
    );

    // Every reset is counted once: most fail in accept(), a few are accepted and then reset.
    const { stats } = server;
    await until(() => {
      const s = server.stats;
      return s.resetBeforeAccept + s.closedWithoutData >= 1000 && server.connections === 0;
    }, 5000);
    const after = server.stats;
    assert.equal(after.resetBeforeAccept + after.closedWithoutData, 1000, JSON.stringify(after));
    assert.ok(after.resetBeforeAccept > 0, JSON.stringify(after));
    assert.equal(after.accepted, 4 + after.closedWithoutData, "the four requests, and the rest");
    assert.equal(after.acceptErrors, 0);
    assert.equal(after.overLimit, 0);
    assert.ok(Object.isFrozen(stats), "stats is a snapshot");
    assert.deepEqual(errors, [], "onError was not called");
    assert.deepEqual(logged.lines, [], "nothing was logged");
  } finally {
    logged.restore();
    await server.shutdown(1);
  }
});

Deno.test("serve accept: a client that connects and leaves without a word is counted, not reported", async () => {
  const errors: HandleError[] = [];
  const logged = captureConsole();
  const server = Handle.serve({
    hostname: "127.0.0.1",
    port: 0,
    handle: { onError: (_h, err) => errors.push(err) },
  }, async (h) => {
    // Each kind of reader a handler may have pending when the client leaves.
    await Promise.allSettled([h.read("line"), h.read("chunk", 4)]);
    h.destroy();
  });
  const port = server.addr.port;
  try {
    for (let i = 0; i < 5; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await until(() => server.connections === 1, 1000);
      conn.close();
      await until(() => server.connections === 0, 1000);
    }
    // A client that did send something and then left mid-line is a real error, reported.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("half a li"));
    await until(() => server.connections === 1, 1000);
    conn.close();
    await until(() => errors.length > 0, 1000);
    assert.deepEqual(errors.map((e) => e.code), ["EPIPE"]);
    assert.match(errors[0].message, /"line" read pending \(9 bytes unconsumed\)/);
    await until(() => server.connections === 0, 1000);
    const stats = server.stats;
    assert.equal(stats.accepted, 6);
    assert.equal(stats.closedWithoutData, 5);
    assert.deepEqual(logged.lines, []);
  } finally {
    logged.restore();
    await server.shutdown(1);
  }
});

for (
  const [how, tlsOptions] of [
    ["", SERVER],
    [" with sni", { ...SERVER, sni: { localhost: { cert: CERT, key: KEY } } }],
  ] as const
) {
  Deno.test(`serve accept: under tls: accept${how}, a client that leaves before its ClientHello is not reported, garbage is`, async () => {
    await quietBeforeClientHello(tlsOptions);
  });
}

async function quietBeforeClientHello(tlsOptions: TlsOptions) {
  const errors: HandleError[] = [];
  const logged = captureConsole();
  const server = Handle.serve({
    hostname: "127.0.0.1",
    port: 0,
    handle: { tls: "accept", tlsOptions, onError: (_h, err) => errors.push(err) },
  }, echo);
  const port = server.addr.port;
  try {
    for (let i = 0; i < 3; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await until(() => server.connections === 1, 1000);
      conn.close();
      await until(() => server.connections === 0, 2000);
    }
    const perl = await new Deno.Command("perl", {
      args: [RESETS, String(port), "20", "--resets-only"],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(perl.success, new TextDecoder().decode(perl.stderr));
    await until(() => server.stats.resetBeforeAccept + server.stats.closedWithoutData === 23, 2000);
    await until(() => server.connections === 0, 2000);
    assert.equal(errors.length, 0, errors.map((e) => e.message).join("\n"));
    // Plaintext where a ClientHello belongs is a real TLS failure: reported.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
    await until(() => errors.length > 0, 2000);
    conn.close();
    assert.deepEqual(errors.map((e) => e.code), ["EPROTO"]);
    await until(() => server.connections === 0, 2000);
    assert.deepEqual(logged.lines, []);
  } finally {
    logged.restore();
    await server.shutdown(1);
  }
}

/** Sends "ping" on `conn`; `reply` says whether the echo came back. */
async function ping(conn: Deno.Conn): Promise<{ reply: Promise<boolean> }> {
  await conn.write(new TextEncoder().encode("ping\n"));
  const buf = new Uint8Array(5);
  return { reply: conn.read(buf).then((n) => n === 5, () => false) };
}

/** Whether `reply` says yes within `ms`. */
async function within(reply: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([reply, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("serve accept: out of file descriptors it backs off, logs one line, and serves the waiting clients later", async () => {
  // The child may have 64 descriptors: a few dozen are Deno's own, the rest are connections.
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'ulimit -n 64 && exec "$0" run --allow-net --allow-read "$1"',
      Deno.execPath(),
      CHILD,
    ],
    env: { DENO_NO_UPDATE_CHECK: "1" }, // no background update check needing descriptors
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = new Response(child.stderr).text();
  const conns: Deno.Conn[] = [];
  try {
    let first = "";
    while (!first.includes("\n")) {
      const { value, done } = await stdout.read();
      if (done) break;
      first += value;
    }
    const port = Number(first.match(/^port (\d+)/)?.[1]);
    if (!(port > 0)) assert.fail(`the child did not start: ${first}${await stderr}`);

    // Connect until one is not answered: the child is out of descriptors.
    let waiting: Promise<boolean> | undefined;
    while (waiting === undefined) {
      assert.ok(conns.length < 200, "no descriptor limit was reached");
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.push(conn);
      const { reply } = await ping(conn);
      if (!(await within(reply, 500))) waiting = reply;
    }
    // Two more wait behind it, and the loop keeps failing meanwhile: still one line.
    const behind: Promise<boolean>[] = [];
    for (let i = 0; i < 2; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.push(conn);
      behind.push((await ping(conn)).reply);
    }
    await tick(300);
    // Descriptors come free: the waiting clients are answered (the back-off is at most 1 s).
    for (const conn of conns.splice(0, 10)) conn.close();
    assert.ok(await within(waiting, 3000), "the first waiting client was not served");
    for (const reply of behind) assert.ok(await within(reply, 3000), "a later one was not");
  } finally {
    for (const conn of conns) conn.close();
    await child.stdin.close(); // the child shuts down, prints its stats and exits
  }
  let rest = "";
  for (let r; !(r = await stdout.read()).done;) rest += r.value;
  const status = await child.status;
  const log = await stderr;
  assert.equal(status.code, 0, log);
  const stats = JSON.parse(rest.trim());
  assert.ok(stats.acceptErrors >= 1, rest);
  const lines = log.trim().split("\n");
  assert.equal(lines.length, 1, `one line, no stack trace:\n${log}`);
  assert.match(
    lines[0],
    /^@anyevent\/handle: serve: cannot accept connections \(out of file descriptors: .*EMFILE\); retrying with back-off up to 1 s, logged once until accepting works again$/,
  );
});
