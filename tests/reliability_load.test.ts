/**
 * Reliability under load: 1,000 connections open at once to one `Handle.serve` server, each
 * exchanging requests of mixed framings (netstring requests; json, netstring and line replies
 * of 0–64 KiB), every reply checked byte for byte by a client Handle.
 *
 * 1,000 connections in one process are 2,000 sockets (both ends). Deno raises its soft limit on
 * open files to the hard limit at start-up, so a soft limit of 1,024 is no obstacle; if the hard
 * limit itself is too low, the test runs itself again in a child process started through
 * `sh -c 'ulimit -n 8192; exec deno test ...'` (root may raise a hard limit), and if even that
 * cannot raise it, runs as many connections as fit and says so on stderr.
 */
import assert from "node:assert/strict";
import { Handle, type HandleError } from "../mod.ts";
import {
  assertFdsBack,
  bytePool,
  describe,
  openFds,
  openFileLimit,
  Rng,
  sameBytes,
  settled,
  sleep,
  textPool,
  within,
} from "./_reliability.ts";

const CONNECTIONS = 1000;
const REQUESTS = 30;
const MAX_PAYLOAD = 64 * 1024;
/** Two sockets per connection, plus what Deno and the runner hold. */
const FDS_NEEDED = 2 * CONNECTIONS + 256;
const CHILD_ENV = "RELIABILITY_LOAD_CHILD";
const SEED = 0x10ad;
const KINDS = ["forward", "reverse", "crlf"] as const;
type Kind = typeof KINDS[number];

const POOL = 3 * MAX_PAYLOAD;
const BIN = bytePool(POOL, SEED);
const TEXT = textPool(POOL, SEED);

/** Where a request's payloads start in the pools: a function of its seed. */
function offsets(seed: number): [json: number, netstring: number, line: number] {
  const span = POOL - MAX_PAYLOAD;
  return [seed % span, (seed >>> 3) % span, (seed >>> 7) % span];
}

interface Request {
  kind: Kind;
  size: number;
  seed: number;
}

/** Sizes from 0 to 64 KiB, mostly small (a few KiB on average), with both extremes. */
function size(rng: Rng): number {
  const r = rng.next();
  if (r < 0.03) return 0;
  if (r < 0.06) return MAX_PAYLOAD;
  return Math.min(MAX_PAYLOAD, Math.floor(2 ** (16 * rng.next() ** 2)));
}

/** The server's answer: a json text, a netstring and a line (their order depends on kind). */
function reply(h: Handle, { kind, size, seed }: Request): void {
  const [j, n, l] = offsets(seed);
  const json = () => h.pushWrite("json", { kind, seed, size, text: TEXT.slice(j, j + size) });
  const netstring = () => h.pushWrite("netstring", BIN.subarray(n, n + size));
  const line = () => h.pushWrite(TEXT.slice(l, l + size) + (kind === "crlf" ? "\r\n" : "\n"));
  if (kind === "reverse") {
    line();
    netstring();
    json();
  } else {
    json();
    netstring();
    line();
  }
}

/** Reads one reply and checks every byte of it. */
async function check(c: Handle, request: Request, what: string): Promise<void> {
  const { kind, size, seed } = request;
  const [j, n, l] = offsets(seed);
  const json = async () => {
    const value = await c.read("json") as Record<string, unknown>;
    assert.equal(typeof value, "object", `${what}: json reply`);
    assert.deepEqual(Object.keys(value), ["kind", "seed", "size", "text"], `${what}: json keys`);
    assert.ok(
      value.kind === kind && value.seed === seed && value.size === size,
      `${what}: json header ${JSON.stringify({ ...value, text: undefined })}`,
    );
    assert.ok(value.text === TEXT.slice(j, j + size), `${what}: json text of ${size} bytes`);
  };
  const netstring = async () => {
    const payload = await c.read("netstring");
    assert.ok(sameBytes(payload, BIN.subarray(n, n + size)), `${what}: netstring of ${size}`);
  };
  const line = async () => {
    const text = await c.read("line");
    assert.ok(text === TEXT.slice(l, l + size), `${what}: line of ${size} (got ${text.length})`);
  };
  if (kind === "reverse") {
    await line();
    await netstring();
    await json();
  } else {
    await json();
    await netstring();
    await line();
  }
}

async function runLoad(connections: number): Promise<void> {
  const fdsBefore = openFds();
  const serverErrors: HandleError[] = [];
  const served: Handle[] = [];
  let requestsServed = 0;
  const server = Handle.serve(
    { hostname: "127.0.0.1", port: 0, handle: { onError: (_h, e) => serverErrors.push(e) } },
    async (h) => {
      served.push(h);
      for await (const raw of h.iterate("netstring", { maxLength: 256 })) {
        reply(h, JSON.parse(new TextDecoder().decode(raw)) as Request);
        requestsServed++;
      }
      await h[Symbol.asyncDispose]();
    },
  );
  const { port } = server.addr;

  // Connect everyone first (100 connects in flight at a time, so a short listen backlog
  // elsewhere costs no SYN retransmits), and start the traffic only when all are open.
  const clients: Handle[] = [];
  const clientErrors: HandleError[][] = [];
  const started = performance.now();
  for (let i = 0; i < connections; i += 100) {
    const wave = Array.from({ length: Math.min(100, connections - i) }, async () => {
      const errors: HandleError[] = [];
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      clients.push(new Handle(conn, { onError: (_h, e) => errors.push(e) }));
      clientErrors.push(errors);
    });
    await within(Promise.all(wave), 30_000, `connecting clients ${i}..${i + 99}`);
  }
  for (let waited = 0; server.connections < connections && waited < 10_000; waited += 5) {
    await sleep(5);
  }
  assert.equal(server.connections, connections, "every connection is open at the same time");
  const connected = performance.now();

  let payloadBytes = 0;
  const exchange = async (c: Handle, index: number) => {
    const rng = new Rng(SEED * 7919 + index);
    for (let done = 0; done < REQUESTS;) {
      // Bursts of 1 to 4 pipelined requests, then their replies in order.
      const burst: Request[] = [];
      for (let k = rng.int(1, 4); k > 0 && done < REQUESTS; k--, done++) {
        const request = { kind: rng.pick(KINDS), size: size(rng), seed: rng.int(0, 2 ** 30) };
        c.pushWrite("netstring", JSON.stringify(request));
        burst.push(request);
        payloadBytes += 3 * request.size;
      }
      for (const request of burst) await check(c, request, `client ${index}, request ${done}`);
    }
    await c[Symbol.asyncDispose]();
  };
  const results = await settled(
    clients.map((c, i) => exchange(c, i)),
    90_000,
    "1,000 clients exchanging requests",
  );
  const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
  assert.equal(failed.length, 0, `${failed.length} clients failed, first: ${failed[0]?.reason}`);
  const exchanged = performance.now();

  assert.equal(requestsServed, connections * REQUESTS);
  for (const [i, errors] of clientErrors.entries()) {
    assert.equal(errors.length, 0, `client ${i}: ${describe(errors)}`);
  }
  assert.equal(serverErrors.length, 0, describe(serverErrors));
  await within(server.shutdown(5), 10_000, "server.shutdown()");
  await within(server.finished, 1000, "server.finished");
  assert.equal(served.length, connections);
  for (const h of [...served, ...clients]) {
    assert.equal(h.destroyed, true);
    await within(h.closed, 1000, "a handle's closed promise");
  }
  await assertFdsBack(fdsBefore);
  console.log(
    `${connections} connections x ${REQUESTS} requests: connected in ${
      Math.round(connected - started)
    } ms, exchanged ${(payloadBytes / 2 ** 20).toFixed(0)} MiB of reply payloads in ${
      Math.round(exchanged - connected)
    } ms`,
  );
}

const NAME =
  "load: 1,000 concurrent connections to one server, each exchanging 30 netstring requests for json, netstring and line replies checked byte for byte";

Deno.test(NAME, async () => {
  const limit = await openFileLimit();
  if (limit >= FDS_NEEDED) return await runLoad(CONNECTIONS);
  if (Deno.env.get(CHILD_ENV) === undefined) {
    // Run this very test again with the limit raised (as far as the hard limit allows).
    const root = new URL("..", import.meta.url).pathname;
    const script = `ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" test ` +
      `--allow-net --allow-read --allow-env --allow-run --filter "$1" "$2"`;
    const out = await new Deno.Command("sh", {
      args: ["-c", script, Deno.execPath(), NAME, new URL(import.meta.url).pathname],
      cwd: root,
      env: { [CHILD_ENV]: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success && /\b1 passed\b/.test(text), `the load test's child failed:\n${text}`);
    console.log(`ran in a child process, to raise the open-file limit (ours is ${limit}):`);
    console.log(text.split("\n").filter((l) => /connections x|open-file limit/.test(l)).join("\n"));
    return;
  }
  // The hard limit is below what 1,000 connections need: run as many as fit, and say so.
  const fit = Math.floor((limit - 256) / 2);
  console.warn(`open-file limit ${limit}: running ${fit} connections instead of ${CONNECTIONS}`);
  assert.ok(fit >= 100, `open-file limit ${limit} is too low even for 100 connections`);
  await runLoad(fit);
});
