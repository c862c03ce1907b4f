/**
 * Deno's native TLS under a handle: the client role through `Deno.startTls` (with the tls
 * option, `Handle.connect`, and STARTTLS from a callback or after a promise read), and the
 * server role through `Handle.serve({ nativeTls: true })` on `Deno.listenTls`. The client
 * scenarios run in a child process that trusts the test CA through `DENO_CERT`
 * (fixtures/tls_native_child.ts), since the native path takes no `caCerts`.
 */
import assert from "node:assert/strict";
import { Handle, type HandleError } from "../mod.ts";
import { CA, CERT, KEY, makeCert } from "./_tls.ts";

const CHILD = new URL("./fixtures/tls_native_child.ts", import.meta.url).pathname;
const CA_FILE = new URL("./certs/ca.pem", import.meta.url).pathname;

async function child(scenario: string, trustTestCa = true): Promise<void> {
  const env: Record<string, string> = trustTestCa ? { DENO_CERT: CA_FILE } : {};
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", CHILD, scenario],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `scenario ${scenario} failed:\n${text}`);
}

for (
  const [name, scenario] of [
    ["Handle.connect with tls: connect runs natively, with ALPN and onStarttls first", "connect"],
    [
      "STARTTLS from a read callback runs natively; bytes queued before it go in plaintext",
      "starttls-callback",
    ],
    [
      "STARTTLS after a promise read runs natively; a queued write leaves first",
      "starttls-promise",
    ],
    ["STARTTLS with a read in flight runs through the layer (its bytes are TLS)", "read-in-flight"],
    ["a client with onStoptls runs through the layer, which can stop", "with-onStoptls"],
    ["a certificate for another name is an EPROTO to onStarttls only", "name-mismatch"],
  ] as const
) {
  Deno.test(`tls native client: ${name}`, () => child(scenario));
}

Deno.test("tls native client: an unknown CA is a fatal EPROTO naming it", () =>
  child("unknown-ca", false));

Deno.test("tls native serve: lines both ways, ALPN, onStarttls before the first line", async () => {
  const events: string[] = [];
  const server = Handle.serve({
    hostname: "127.0.0.1",
    port: 0,
    nativeTls: true,
    handle: {
      tls: "accept",
      tlsOptions: { cert: CERT, key: KEY, alpnProtocols: ["x-test"] },
      onStarttls: (_h, ok) => events.push(`starttls ${ok}`),
    },
  }, async (h) => {
    for await (const line of h.iterate("line")) {
      events.push(line);
      h.pushWrite(`${line} ${h.alpnProtocol} ${h.tls}\n`);
    }
    assert.throws(() => h.stoptls(), TypeError);
  });
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port: server.addr.port,
    caCerts: [CA],
    alpnProtocols: ["x-test"],
  });
  const client = new Handle(conn);
  client.pushWrite("one\ntwo\n");
  assert.equal(await client.read("line"), "one x-test true");
  assert.equal(await client.read("line"), "two x-test true");
  client.pushShutdown();
  await client.read("line").catch(() => {});
  client.destroy();
  await server.shutdown(1);
  assert.deepEqual(events, ["starttls true", "one", "two"]);
  assert.deepEqual(server.stats.errors, {});
});

Deno.test("tls native serve: sni picks the certificate by name through Deno's resolver", async () => {
  const dir = await Deno.makeTempDir();
  const other = await makeCert(dir, "other.test", true);
  await Deno.remove(dir, { recursive: true });
  const server = Handle.serve({
    hostname: "127.0.0.1",
    port: 0,
    nativeTls: true,
    handle: { tls: "accept", tlsOptions: { cert: CERT, key: KEY, sni: { "other.test": other } } },
  }, async (h) => {
    h.pushWrite(`${await h.read("line")}\n`);
    await h.drain();
  });
  for (const [name, ca] of [["other.test", other.cert], ["localhost", CA]] as const) {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const h = new Handle(await Deno.startTls(tcp, { hostname: name, caCerts: [ca] }));
    h.pushWrite(`hello ${name}\n`);
    assert.equal(await h.read("line"), `hello ${name}`);
    h.destroy();
  }
  await server.shutdown(1);
});

Deno.test("tls native serve: a plaintext client is one EPROTO; a health check is only counted", async () => {
  const reports: HandleError[] = [];
  const server = Handle.serve({
    hostname: "127.0.0.1",
    port: 0,
    nativeTls: true,
    handle: {
      tls: "accept",
      tlsOptions: { cert: CERT, key: KEY },
      onError: (_h, e) => reports.push(e),
    },
  }, async (h) => {
    await h.read("line");
  });
  const check = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  check.close();
  const plain = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await plain.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
  await plain.read(new Uint8Array(64)).catch(() => null);
  plain.close();
  while (server.connections > 0) await new Promise((r) => setTimeout(r, 5));
  await server.shutdown(1);
  assert.deepEqual(reports.map((e) => e.code), ["EPROTO"]);
  assert.deepEqual(server.stats.errors, { EPROTO: 1 });
  assert.equal(server.stats.closedWithoutData, 2);
});
