/**
 * Reliability behind a real HAProxy health-checking its backends every 100 ms for 10 s: the
 * `Handle.serve` servers log nothing (console.error and console.warn are captured) and call no
 * `onError` for the checks, HAProxy keeps every server UP, and clients through the balancer
 * are answered all along. Real errors still reach `onError`.
 *
 * What the checks look like at the server (Linux, HAProxy 2.6): a plain `check` and
 * `option tcp-check` with `tcp-check connect` never complete the TCP handshake (HAProxy resets
 * before its last ACK, so nothing reaches `accept()`); with `send-proxy`, the check connects
 * and resets, which Deno reports from `accept()` as NotConnected (`stats.resetBeforeAccept`);
 * with `check-send-proxy` it sends a PROXY header first and then resets, which is accepted and
 * ends without data (`stats.closedWithoutData`).
 *
 * Needs the `haproxy` binary (Debian: `apt-get install haproxy`); run with
 * `deno test --allow-net --allow-read --allow-write --allow-run tests/reliability_haproxy_check.test.ts`.
 */
import assert from "node:assert/strict";
import { Handle, type HandleError, type HandleServer } from "../mod.ts";
import { findHaproxy, freePort, spawnHaproxy } from "./_haproxy.ts";
import { readAll, writeAll } from "./_net.ts";

const HAPROXY = await findHaproxy();
/** How long HAProxy checks the backends while clients come and go. */
const RUN_MS = 10_000;

/** One backend: a line server that answers with its name, reporting errors to `errors`. */
function backend(
  name: string,
  proxy: boolean,
  errors: [string, HandleError][],
): HandleServer<Handle, Deno.NetAddr> {
  return Handle.serve({
    hostname: "127.0.0.1",
    port: 0,
    proxy,
    handle: { onError: (_h, err) => errors.push([name, err]) },
  }, async (h) => {
    for await (const line of h.iterate("line")) h.pushWrite(`${name}: ${line}\n`);
    h.destroy();
  });
}

const portOf = (server: HandleServer<Handle, Deno.NetAddr>) => server.addr.port;

/** A running HAProxy and its frontend port. */
interface Haproxy {
  port: number;
  /** Stops it and returns what it printed. */
  stop(): Promise<string>;
}

/** One request through the frontend: the answer, or the error. */
async function request(port: number, text: string): Promise<string> {
  const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }), { timeout: 10 });
  try {
    h.pushWrite(`${text}\n`);
    return await h.read("line");
  } finally {
    await h[Symbol.asyncDispose]();
  }
}

/**
 * Starts HAProxy with a frontend balancing over `balanced`, and `checkedOnly` in a backend of
 * its own with `option tcp-check` (checked, never sent a client).
 */
async function startHaproxy(
  dir: string,
  balanced: string[],
  checkedOnly: string[],
): Promise<Haproxy> {
  let lastOutput = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort("127.0.0.1");
    const config = [
      "global",
      "  nbthread 1",
      "defaults",
      "  mode tcp",
      "  timeout connect 5s",
      "  timeout client 30s",
      "  timeout server 30s",
      "  timeout check 1s",
      "frontend fe",
      `  bind 127.0.0.1:${port}`,
      "  default_backend be",
      "backend be",
      "  balance roundrobin",
      ...balanced.map((s) => `  ${s}`),
      "backend be_tcp_check",
      "  option tcp-check",
      "  tcp-check connect",
      ...checkedOnly.map((s) => `  ${s}`),
      "",
    ].join("\n");
    const haproxy = await spawnHaproxy(HAPROXY!, dir, config);
    const stop = () => haproxy.stop();
    // Ready once one request has gone through; HAProxy exits if the port was taken meanwhile.
    for (let wait = 0; wait < 200 && !haproxy.exited; wait++) {
      try {
        await request(port, "probe");
        return { port, stop };
      } catch (e) {
        if (!(e instanceof Deno.errors.ConnectionRefused)) {
          throw new Error(`HAProxy does not answer: ${e}\n${await stop()}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    lastOutput = await stop();
    if (!/cannot bind|Address already in use/i.test(lastOutput)) {
      throw new Error(`HAProxy did not start:\n${lastOutput}`);
    }
  }
  throw new Error(`HAProxy could not bind a free port in 5 attempts:\n${lastOutput}`);
}

Deno.test("reliability: HAProxy health checks every 100 ms for 10 s leave no log line and no onError", async () => {
  if (HAPROXY === undefined) {
    throw new Error(
      "This test needs haproxy, which is not on PATH nor in /usr/sbin: apt-get install haproxy",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "haproxy_check_" });
  const errors: [string, HandleError][] = [];
  const logged: string[] = [];
  const { error, warn } = console;
  console.error = (...args: unknown[]) => void logged.push(`error: ${args.join(" ")}`);
  console.warn = (...args: unknown[]) => void logged.push(`warn: ${args.join(" ")}`);
  const servers = {
    v2: backend("v2", true, errors), // send-proxy-v2, and the checks send a header too
    v1: backend("v1", true, errors), // send-proxy: the checks only connect and reset
    plain: backend("plain", false, errors), // a plain TCP check
    tc: backend("tc", false, errors), // option tcp-check, tcp-check connect
  };
  let haproxy: Haproxy | undefined;
  let output = "";
  const answers: string[] = [];
  try {
    haproxy = await startHaproxy(dir, [
      `server v2 127.0.0.1:${portOf(servers.v2)} send-proxy-v2 check inter 100 check-send-proxy`,
      `server v1 127.0.0.1:${portOf(servers.v1)} send-proxy check inter 100`,
      `server plain 127.0.0.1:${portOf(servers.plain)} check inter 100`,
    ], [`server tc 127.0.0.1:${portOf(servers.tc)} check inter 100`]);
    const end = Date.now() + RUN_MS;
    for (let i = 0; Date.now() < end; i++) {
      answers.push(await request(haproxy.port, `hello ${i}`));
      await new Promise((r) => setTimeout(r, 100));
    }
    // Real errors still reach onError: no PROXY header where one belongs, and a client of
    // the balancer that leaves in the middle of a line.
    const direct = await Deno.connect({ hostname: "127.0.0.1", port: portOf(servers.v1) });
    await writeAll(direct, "GET / HTTP/1.0\r\n\r\n");
    assert.equal((await readAll(direct)).length, 0, "a bad PROXY header is closed");
    direct.close();
    const half = await Deno.connect({ hostname: "127.0.0.1", port: haproxy.port });
    await writeAll(half, "half a li");
    await new Promise((r) => setTimeout(r, 200));
    half.close();
    for (let wait = 0; wait < 100 && errors.length < 2; wait++) {
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    console.error = error;
    console.warn = warn;
    output = (await haproxy?.stop()) ?? "";
    await Promise.all(Object.values(servers).map((s) => s.shutdown(1)));
    await Deno.remove(dir, { recursive: true });
  }

  assert.deepEqual(logged, [], "nothing was logged");
  assert.doesNotMatch(output, /is DOWN/, `HAProxy took a server down:\n${output}`);
  assert.ok(answers.length >= 20, `only ${answers.length} requests in ${RUN_MS} ms`);
  for (const [i, answer] of answers.entries()) assert.match(answer, new RegExp(`: hello ${i}$`));
  for (const name of ["v2", "v1", "plain"]) {
    assert.ok(answers.some((a) => a.startsWith(`${name}: `)), `${name} answered no request`);
  }
  const described = errors.map(([name, err]) => `${name}: ${err.code} ${err.message}`);
  assert.equal(errors.length, 2, described.join("\n"));
  assert.match(described.find((d) => d.includes("EBADMSG")) ?? "", /^v1: EBADMSG /);
  assert.match(described.find((d) => d.includes("EPIPE")) ?? "", /\(9 bytes unconsumed\)$/);
  // The checks did reach the servers that see them, and were only counted.
  const checks = (name: keyof typeof servers) => {
    const s = servers[name].stats;
    return s.resetBeforeAccept + s.closedWithoutData;
  };
  assert.ok(
    checks("v2") >= 20,
    `v2 saw ${checks("v2")} checks: ${JSON.stringify(servers.v2.stats)}`,
  );
  assert.ok(
    checks("v1") >= 20,
    `v1 saw ${checks("v1")} checks: ${JSON.stringify(servers.v1.stats)}`,
  );
  for (const s of Object.values(servers)) assert.equal(s.stats.acceptErrors, 0);
});
