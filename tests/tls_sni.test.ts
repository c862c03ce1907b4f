/**
 * SNI on the accepting side: `tlsOptions.sni` picks a certificate by the name the client asks
 * for (exact names, then `*.` wildcards, the top-level certificate otherwise), for
 * `tls: "accept"`, `starttls("accept")` and `tls_autostart`. Checked with `openssl s_client
 * -servername` (which certificate came back) and with this library's own client verifying the
 * chosen certificate. Without a default certificate, a name not listed gets the
 * `unrecognized_name` alert and no name `handshake_failure` (what s_client prints), and such
 * options warn once when first used (by `Handle.serve`, at start-up). The certificates are made
 * by openssl for the test, self-signed.
 */
import assert from "node:assert/strict";
import { Handle, type HandleServer, type TlsOptions } from "../mod.ts";
import { CERT, KEY, makeCert } from "./_tls.ts";

async function run(cmd: string, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

const dir = await Deno.makeTempDir();
const A = await makeCert(dir, "a.example");
const WILD = await makeCert(dir, "*.b.example");
const SNI: TlsOptions = { cert: CERT, key: KEY, sni: { "a.example": A, "*.b.example": WILD } };

/** The subject CN of the certificate `s_client` was given for `servername` (or none). */
async function presented(port: number, servername: string | undefined): Promise<string> {
  const args = ["s_client", "-connect", `127.0.0.1:${port}`, "-brief"];
  args.push(...(servername === undefined ? ["-noservername"] : ["-servername", servername]));
  const out = await run("openssl", args, "");
  const cn = out.match(/Peer certificate: .*CN\s*=\s*([^\s,/]+)/);
  assert.ok(cn, out);
  return cn[1];
}

Deno.test({
  name: "sni: tls accept picks the certificate by name, wildcard, or the default",
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const served = (async () => {
      for (let i = 0; i < 5; i++) {
        const h = new Handle(await listener.accept(), {
          tls: "accept",
          tlsOptions: SNI,
          onError: () => {},
          linger: 0,
        });
        h.read("line").catch(() => {}).finally(() => h.destroy());
      }
    })();
    const port = listener.addr.port;
    assert.equal(await presented(port, "a.example"), "a.example");
    assert.equal(await presented(port, "A.EXAMPLE"), "a.example");
    assert.equal(await presented(port, "x.b.example"), "*.b.example");
    assert.equal(await presented(port, "other.example"), "localhost");
    assert.equal(await presented(port, undefined), "localhost");
    await served;
    listener.close();
  },
});

Deno.test("sni: starttls and tls_autostart serve the chosen certificate to a verifying client", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const serve = async (autostart: boolean) => {
    const h = new Handle(await listener.accept(), { tlsOptions: SNI, onError: () => {} });
    if (autostart) h.pushRead("tls_autostart", "accept");
    else {
      assert.equal(await h.read("line"), "STARTTLS");
      h.starttls("accept");
    }
    h.pushWrite(`${await h.read("line")} over tls\n`);
    await h.drain();
    h.destroy();
  };
  for (
    const [autostart, name, cert] of [[false, "a.example", A], [true, "x.b.example", WILD]] as const
  ) {
    const served = serve(autostart);
    const c = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }));
    if (!autostart) c.pushWrite("STARTTLS\n");
    c.starttls("connect", { hostname: name, caCerts: [cert.cert] });
    c.pushWrite("hello\n");
    assert.equal(await c.read("line"), "hello over tls");
    await served;
    c.destroy();
    await c.closed;
  }
  listener.close();
});

/** Replaces console.warn while `body` runs; returns what it was given, line by line. */
async function warnings(body: () => Promise<void> | void): Promise<string[]> {
  const { warn } = console;
  const lines: string[] = [];
  console.warn = (...args: unknown[]) => void lines.push(args.join(" "));
  try {
    await body();
  } finally {
    console.warn = warn;
  }
  return lines;
}

const warning = (names: string) =>
  `@anyevent/handle: tlsOptions.sni (${names}) has no default certificate (tlsOptions.cert ` +
  "and key): a client asking for another name, or none, gets a TLS alert (unrecognized_name " +
  "or handshake_failure) instead of a session";

Deno.test("sni: accept with only an sni table fails the handshake of a name not in it, with an alert", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const warned = await warnings(async () => {
    const server = listener.accept().then((conn) =>
      new Handle(conn, { tls: "accept", tlsOptions: { sni: { "a.example": A } }, onError() {} })
    );
    const c = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }), {
      tls: "connect",
      tlsOptions: { hostname: "nope.example", caCerts: [A.cert] },
      onError: () => {},
    });
    const s = await server;
    const err = await c.closed.then(() => undefined, (e) => e);
    assert.equal(err?.code, "EPROTO");
    // The client is told why: an alert, not an unexpected end of input.
    assert.match(err.message, /^TLS handshake failed: .*alert.*UnrecognisedName$/);
    await assert.rejects(s.closed, {
      code: "EPROTO",
      message: 'TLS handshake failed: no certificate for server name "nope.example" and no ' +
        "default (tlsOptions.cert); sent the alert unrecognized_name",
    });
    s.destroy();
  });
  assert.deepEqual(warned, [warning('"a.example"')]);
  listener.close();
});

Deno.test("sni: openssl s_client sees unrecognized_name for an unknown name, handshake_failure for none; serve warns once at start", async () => {
  const failures: string[] = [];
  let server: HandleServer<Handle, Deno.NetAddr> | undefined;
  const tlsOptions: TlsOptions = { sni: { "a.example": A, "*.b.example": WILD } };
  const warned = await warnings(async () => {
    server = Handle.serve({
      hostname: "127.0.0.1",
      port: 0,
      handle: { tls: "accept", tlsOptions, onError: (_h, e) => failures.push(e.message) },
    }, (h) => void h.read("line").catch(() => {}).finally(() => h.destroy()));
    const port = server.addr.port;
    const sClient = (...args: string[]) =>
      run("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-brief", ...args], "");
    const unknown = await sClient("-servername", "other.example");
    assert.match(unknown, /unrecognized name/i, unknown);
    assert.match(unknown, /SSL alert number 112/, unknown);
    const none = await sClient("-noservername");
    assert.match(none, /handshake failure/i, none);
    assert.match(none, /SSL alert number 40/, none);
    // A listed name still gets its certificate.
    assert.match(
      await sClient("-servername", "a.example"),
      /Peer certificate: .*CN\s*=\s*a\.example/,
    );
  });
  await server!.shutdown(1);
  assert.deepEqual(warned, [warning('"a.example", "*.b.example"')], "once, at start-up");
  assert.deepEqual(failures, [
    'TLS handshake failed: no certificate for server name "other.example" and no default ' +
    "(tlsOptions.cert); sent the alert unrecognized_name",
    "TLS handshake failed: the client asked for no server name and there is no default " +
    "certificate (tlsOptions.cert); sent the alert handshake_failure",
  ]);
});

Deno.test("sni: serve with tls accept and no certificate at all is a TypeError at once", () => {
  assert.throws(
    () => Handle.serve({ hostname: "127.0.0.1", port: 0, handle: { tls: "accept" } }, () => {}),
    { name: "TypeError", message: /^Cannot accept TLS without tlsOptions.cert/ },
  );
});

Deno.test("sni: an entry without cert and key is a TypeError", () => {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const h = Handle.fromStreams(readable, writable);
  assert.throws(
    () => h.starttls("accept", { sni: { "a.example": { cert: "x" } as never } }),
    TypeError,
  );
  h.destroy();
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
