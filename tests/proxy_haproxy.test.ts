/**
 * `Handle.serve({ proxy: true })` and the `proxy` read type against a real HAProxy: a TCP
 * frontend on loopback balances round-robin over two backends, each a `Handle.serve` server
 * with `proxy: true`, one behind a server line with `send-proxy-v2` (plus the CRC32C and
 * unique-id TLVs), one behind `send-proxy`. Each backend handle must report the client's own
 * address and port (the client's `conn.localAddr`) as `h.remoteAddr`, and the frontend address
 * it dialled as `h.localAddr`, while `info.socket` is HAProxy's connection to the backend; over
 * IPv4 and, where the machine has it, IPv6.
 *
 * Needs the `haproxy` binary (Debian: `apt-get install haproxy`); run with
 * `deno test --allow-net --allow-read --allow-write --allow-run tests/proxy_haproxy.test.ts`.
 */
import assert from "node:assert/strict";
import { Handle, type HandleServer, type ServedProxyInfo } from "../mod.ts";
import { PROXY_TLV } from "../codecs/proxy.ts";
import { findHaproxy, freePort, spawnHaproxy } from "./_haproxy.ts";

const HAPROXY = await findHaproxy();
const HAS_IPV6 = canListen("::1");
/** Seconds a client waits for an answer through HAProxy before failing with ETIMEDOUT. */
const CLIENT_TIMEOUT = 20;

function canListen(hostname: string): boolean {
  try {
    Deno.listen({ hostname, port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

/** What a backend saw on one connection. */
interface Seen {
  backend: string;
  info: ServedProxyInfo;
  line: string;
  remote: Deno.Addr | undefined;
  local: Deno.Addr | undefined;
}

/**
 * A backend: `Handle.serve` with `proxy: true`, so the header is read before the callback; each
 * connection reads one line, records what it saw and answers with the backend's name.
 */
function backend(
  name: string,
  seen: Seen[],
  failures: unknown[],
): HandleServer<Handle, Deno.NetAddr> {
  return Handle.serve({
    hostname: "127.0.0.1",
    port: 0,
    proxy: true,
    handle: { onError: (_h, err) => failures.push(err) },
  }, async (h, info) => {
    assert.ok(info, "serve({ proxy: true }) passes the header");
    const line = await h.read("line");
    seen.push({ backend: name, info, line, remote: h.remoteAddr, local: h.localAddr });
    h.pushWrite(`${name}\n`);
    await h.drain();
    h.destroy();
  });
}

const portOf = (server: HandleServer<Handle, Deno.NetAddr>) => server.addr.port;

/** A running HAProxy child and the ports of its frontend. */
interface Haproxy {
  port4: number;
  port6: number;
  /** Connects to a frontend, waiting for HAProxy to listen. */
  connect(hostname: string, port: number): Promise<Deno.TcpConn>;
  stop(): Promise<string>;
}

async function startHaproxy(dir: string, v2Port: number, v1Port: number): Promise<Haproxy> {
  let lastOutput = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port4 = freePort("127.0.0.1");
    const port6 = HAS_IPV6 ? freePort("::1") : 0;
    const config = [
      "global",
      "  nbthread 1",
      "defaults",
      "  mode tcp",
      "  timeout connect 5s",
      "  timeout client 30s",
      "  timeout server 30s",
      "frontend fe",
      `  bind 127.0.0.1:${port4}`,
      ...(HAS_IPV6 ? [`  bind [::1]:${port6}`] : []),
      "  unique-id-format %ci:%cp",
      "  default_backend be",
      "backend be",
      "  balance roundrobin",
      `  server v2 127.0.0.1:${v2Port} send-proxy-v2 proxy-v2-options crc32c,unique-id`,
      `  server v1 127.0.0.1:${v1Port} send-proxy`,
      "",
    ].join("\n");
    const haproxy = await spawnHaproxy(HAPROXY!, dir, config);
    const stop = () => haproxy.stop();
    const connect = async (hostname: string, port: number) => {
      for (let wait = 0;; wait++) {
        try {
          return await Deno.connect({ hostname, port });
        } catch (e) {
          if (!(e instanceof Deno.errors.ConnectionRefused) || haproxy.exited || wait === 200) {
            throw new Error(`Cannot connect to HAProxy on port ${port}: ${e}\n${await stop()}`);
          }
          await new Promise((r) => setTimeout(r, 25));
        }
      }
    };
    // Wait until both frontends listen, or HAProxy exits (a port taken in the meantime): one
    // whole exchange through each, so that no session is left half done.
    const probe = async (hostname: string, port: number) => {
      const h = new Handle(await connect(hostname, port), { timeout: CLIENT_TIMEOUT });
      h.pushWrite("probe\n");
      await h.read("line");
      h.destroy();
      await h.closed;
    };
    const ready = (async () => {
      await probe("127.0.0.1", port4);
      if (HAS_IPV6) await probe("::1", port6);
    })();
    try {
      await ready;
      return { port4, port6, connect, stop };
    } catch (e) {
      lastOutput = await stop();
      if (!/cannot bind|Address already in use/i.test(lastOutput)) throw e;
    }
  }
  throw new Error(`HAProxy could not bind a free port in 5 attempts:\n${lastOutput}`);
}

Deno.test("proxy: HAProxy's send-proxy and send-proxy-v2 headers carry the client's address", async () => {
  if (HAPROXY === undefined) {
    throw new Error(
      "This test needs haproxy, which is not on PATH nor in /usr/sbin: apt-get install haproxy",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "proxy_haproxy_" });
  const seen: Seen[] = [];
  const failures: unknown[] = [];
  const v2 = backend("v2", seen, failures);
  const v1 = backend("v1", seen, failures);
  let haproxy: Haproxy | undefined;
  try {
    haproxy = await startHaproxy(dir, portOf(v2), portOf(v1));
    assert.deepEqual(seen.map((s) => s.line), HAS_IPV6 ? ["probe", "probe"] : ["probe"]);
    seen.splice(0);

    const targets = [
      ...Array(6).fill(["127.0.0.1", haproxy.port4]),
      ...(HAS_IPV6 ? Array(4).fill(["::1", haproxy.port6]) : []),
    ] as [string, number][];
    const clients: { local: Deno.NetAddr; target: [string, number]; answer: string }[] = [];
    for (const target of targets) {
      const conn = await haproxy.connect(...target);
      const local = conn.localAddr;
      const h = new Handle(conn, { timeout: CLIENT_TIMEOUT });
      h.pushWrite(`hello from ${local.hostname} port ${local.port}\n`);
      const answer = await h.read("line");
      h.destroy();
      await h.closed;
      clients.push({ local, target, answer });
    }

    assert.deepEqual(failures, []);
    assert.equal(seen.length, targets.length);
    for (const { local, target, answer } of clients) {
      const record = seen.find((s) => s.line === `hello from ${local.hostname} port ${local.port}`);
      assert.ok(record, `no backend saw the client on port ${local.port}`);
      const { info } = record;
      assert.equal(record.backend, answer);
      // The handle reports the client's addresses from the header ...
      assert.deepEqual(record.remote, {
        transport: "tcp",
        hostname: local.hostname,
        port: local.port,
      });
      assert.deepEqual(record.local, { transport: "tcp", hostname: target[0], port: target[1] });
      // ... and the header's socket is HAProxy's connection to this backend.
      const backendPort = portOf(record.backend === "v2" ? v2 : v1);
      assert.deepEqual({ ...info.socket.localAddr }, {
        transport: "tcp",
        hostname: "127.0.0.1",
        port: backendPort,
      });
      const relay = info.socket.remoteAddr;
      assert.equal(relay.transport, "tcp");
      assert.equal(relay.hostname, "127.0.0.1", "HAProxy reaches the backends over IPv4");
      assert.equal(info.version, record.backend === "v2" ? 2 : 1);
      assert.equal(info.command, "PROXY");
      assert.equal(info.protocol, target[0] === "::1" ? "TCP6" : "TCP4");
      assert.deepEqual(info.source, { hostname: local.hostname, port: local.port });
      assert.deepEqual(info.destination, { hostname: target[0], port: target[1] });
      if (info.version === 2) {
        // The CRC32C was checked by the decoder; the unique ID is "%ci:%cp".
        assert.ok(info.tlvs.some((t) => t.type === PROXY_TLV.CRC32C));
        const id = info.tlvs.find((t) => t.type === PROXY_TLV.UNIQUE_ID);
        assert.equal(new TextDecoder().decode(id?.value), `${local.hostname}:${local.port}`);
      } else {
        assert.deepEqual(info.tlvs, []);
      }
    }
    const count = (name: string) => seen.filter((s) => s.backend === name).length;
    assert.ok(count("v1") > 0 && count("v2") > 0, `v1: ${count("v1")}, v2: ${count("v2")}`);
    assert.ok(Math.abs(count("v1") - count("v2")) <= 1, "round-robin spreads the connections");
    assert.deepEqual(new Set(seen.map((s) => s.info.version)), new Set([1, 2]));
  } finally {
    await haproxy?.stop();
    await Promise.all([v1.shutdown(1), v2.shutdown(1)]);
    await Deno.remove(dir, { recursive: true });
  }
});
