/**
 * Interop with real OpenSSL peers (the `openssl` command): `s_server` against a Handle
 * client, `s_client` against a Handle server, and `s_client -starttls smtp` against the
 * STARTTLS example server. Loopback only; every wait is bounded.
 */
import assert from "node:assert/strict";
import { concat } from "./_split.ts";
import { Handle, type HandleError, type HandleOptions } from "../mod.ts";
import { startSmtpServer } from "../examples/smtp_starttls.ts";
import { deferred } from "./_net.ts";
import { CA, CERT, CLIENT, KEY, OTHER_CA, PATHS, SERVER } from "./_tls.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** The longest any single step may take before the test fails. */
const WAIT = 10_000;

/** Settles like `promise`, or rejects after `ms`; the timer is always cleared. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `count` numbered lines of varied length, some with multi-byte UTF-8, LF or CRLF ended. */
function lines(count: number, who: string): string {
  let out = "";
  for (let i = 0; i < count; i++) {
    out += `${who} line ${i}: ${"x".repeat(i % 61)}${i % 7 === 0 ? " héllo ✓" : ""}`;
    out += i % 3 === 0 ? "\r\n" : "\n";
  }
  return out;
}

/** A port that was free a moment ago (another process may take it: callers retry). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/**
 * An `openssl` child process with piped stdio: what it prints on stdout is collected and
 * checked in order ({@linkcode OpenSsl.expectOutput}); stderr is kept for error messages.
 * {@linkcode OpenSsl.stop} always leaves nothing behind (process, pipes).
 */
class OpenSsl {
  readonly args: string[];
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #ended: Promise<void>;
  #stdout: Uint8Array = new Uint8Array(0);
  #checked = 0;
  #stderr = "";
  #status: Deno.CommandStatus | undefined;
  #done = false;
  #waiters: (() => void)[] = [];

  constructor(args: string[]) {
    this.args = args;
    this.#child = new Deno.Command("openssl", {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#stdin.closed.catch(() => {});
    const out = this.#pump(this.#child.stdout, (bytes) => {
      this.#stdout = concat(this.#stdout, bytes);
    });
    const err = this.#pump(this.#child.stderr, (bytes) => {
      this.#stderr += decoder.decode(bytes, { stream: true });
    });
    const status = this.#child.status.then((status) => {
      this.#status = status;
    });
    this.#ended = Promise.all([out, err, status]).then(() => {
      this.#done = true;
      this.#wake();
    });
  }

  async #pump(stream: ReadableStream<Uint8Array>, sink: (bytes: Uint8Array) => void) {
    for await (const bytes of stream) {
      sink(bytes);
      this.#wake();
    }
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Whether the process has exited and its output has been read to the end. */
  get ended(): boolean {
    return this.#done;
  }

  /** What the process printed on stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  #describe(): string {
    const status = this.#status ? ` (exit code ${this.#status.code})` : "";
    return `openssl ${this.args[0]}${status}; stderr:\n${this.#stderr}`;
  }

  /** Rejects once the process has ended: race it against a wait that needs it alive. */
  failOnExit(what: string): Promise<never> {
    return this.#ended.then(() => {
      throw new Error(`${this.#describe()}\nexited while waiting for ${what}`);
    });
  }

  /** Writes to the process's stdin (which it sends to its TLS peer). */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    await within(WAIT, `openssl to take ${bytes.length} bytes on stdin`, this.#stdin.write(bytes));
  }

  /**
   * Waits until the process has printed `expected` right after what the previous call
   * checked, and checks those bytes exactly.
   */
  async expectOutput(expected: string | Uint8Array): Promise<void> {
    const want = typeof expected === "string" ? encoder.encode(expected) : expected;
    const end = this.#checked + want.length;
    const arrived = (async () => {
      while (this.#stdout.length < end) {
        if (this.#done) throw new Error(`${this.#describe()}\nended before printing all output`);
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    })();
    await within(WAIT, `${want.length} bytes of output from openssl ${this.args[0]}`, arrived)
      .catch((e) => {
        const got = this.#stdout.subarray(this.#checked);
        throw new Error(`${e.message}; got ${got.length}: ${JSON.stringify(decoder.decode(got))}`);
      });
    const got = this.#stdout.subarray(this.#checked, end);
    if (typeof expected === "string") assert.equal(decoder.decode(got), expected);
    assert.deepEqual(got, want);
    this.#checked = end;
  }

  /** Output printed after what `expectOutput` checked. */
  get unexpectedOutput(): string {
    return decoder.decode(this.#stdout.subarray(this.#checked));
  }

  /** Waits for the process to end on its own and returns its status. */
  async exit(): Promise<Deno.CommandStatus> {
    await within(WAIT, `openssl ${this.args[0]} to exit`, this.#ended);
    return this.#status!;
  }

  /** Ends the process if it still runs, closes its stdin and waits for everything. */
  async stop(): Promise<void> {
    if (this.#status === undefined) {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* it exited meanwhile */ }
    }
    await this.#stdin.close().catch(() => {});
    await within(WAIT, `openssl ${this.args[0]} to end`, this.#ended);
  }
}

/**
 * Starts `openssl s_server -naccept 1` on a free loopback port and connects to it. A port
 * taken between `freePort()` and the bind makes s_server exit: then another port is tried.
 */
async function startSServer(
  extra: string[] = [],
): Promise<{ server: OpenSsl; conn: Deno.TcpConn }> {
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    const server = new OpenSsl([
      "s_server",
      ...["-accept", `127.0.0.1:${port}`, "-cert", PATHS.cert, "-key", PATHS.key],
      ...["-naccept", "1", "-quiet", ...extra],
    ]);
    const deadline = Date.now() + WAIT;
    while (!server.ended && Date.now() < deadline) {
      try {
        return { server, conn: await Deno.connect({ hostname: "127.0.0.1", port }) };
      } catch (e) {
        if (!(e instanceof Deno.errors.ConnectionRefused)) {
          await server.stop();
          throw e;
        }
      }
      await sleep(20); // not listening yet
    }
    const listening = !server.ended; // still running, yet refusing connections
    const why = server.stderr;
    await server.stop();
    if (attempt === 5 || listening) {
      throw new Error(`openssl s_server did not start listening on ${port}:\n${why}`);
    }
  }
}

/** Starts `openssl s_client` against a Handle listener and returns the accepted connection. */
async function startSClient(
  args: string[],
): Promise<{ client: OpenSsl; conn: Deno.TcpConn }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = new OpenSsl([
    "s_client",
    ...["-connect", `127.0.0.1:${listener.addr.port}`, "-quiet", "-nocommands", ...args],
  ]);
  try {
    const accepted = Promise.race([listener.accept(), client.failOnExit("it to connect")]);
    return { client, conn: await within(WAIT, "s_client to connect", accepted) };
  } catch (e) {
    await client.stop();
    throw e;
  } finally {
    listener.close();
  }
}

/** s_client options that verify the test certificate chain and its name. */
const VERIFY = [
  ...["-CAfile", PATHS.ca, "-verify_return_error"],
  ...["-servername", "localhost", "-verify_hostname", "localhost"],
];

/** A handle that reports its handshake and end of input as promises. */
function tlsHandle(conn: Deno.TcpConn, options: HandleOptions) {
  const started = deferred<{ ok: boolean; err?: HandleError }>();
  const eof = deferred<void>();
  const h = new Handle(conn, {
    onStarttls: (_h, ok, err) => started.resolve({ ok, err }),
    onEof: () => eof.resolve(),
    ...options,
  });
  return {
    h,
    handshake: () => within(WAIT, "the TLS handshake", started.promise),
    eof: () => within(WAIT, "end of input", eof.promise),
    read: <T>(what: string, promise: Promise<T>) => within(WAIT, what, promise),
    async close() {
      h.destroy();
      await h.closed.catch(() => {});
    },
  };
}

Deno.test("openssl s_server: a Handle client (tls: connect) exchanges lines and bulk data both ways", async () => {
  const { server, conn } = await startSServer();
  const c = tlsHandle(conn, { tls: "connect", tlsOptions: CLIENT });
  try {
    // Pushed before the handshake: leaves encrypted once it is done.
    c.h.pushWrite("hello from deno\r\n");
    assert.deepEqual(await c.handshake(), { ok: true, err: undefined });
    assert.equal(c.h.tls, true);
    await server.expectOutput("hello from deno\r\n");

    await server.write("hello from openssl\r\nsecond line\n");
    assert.equal(await c.read("a line", c.h.read("line")), "hello from openssl");
    assert.equal(await c.read("a line", c.h.read("line")), "second line");

    // Exact bytes both ways, many TLS records each.
    const toServer = lines(5000, "deno");
    c.h.pushWrite(toServer);
    await server.expectOutput(toServer);
    const toClient = encoder.encode(lines(5000, "openssl"));
    const [got] = await Promise.all([
      c.read("bulk data", c.h.read("chunk", toClient.length)),
      server.write(toClient),
    ]);
    assert.deepEqual(got, toClient);

    // The client ends the session (close_notify, then FIN); s_server answers with its own
    // close_notify, which is a clean end of input here, and exits (-naccept 1).
    c.h.pushShutdown();
    await c.eof();
    assert.equal(c.h.rbuf.length, 0);
    await c.close(); // s_server waits for the socket to close before it exits
    assert.equal((await server.exit()).code, 0);
    assert.equal(server.unexpectedOutput, "");
  } finally {
    await c.close();
    await server.stop();
  }
});

Deno.test("openssl s_server -Verify: a Handle client presents its certificate (mutual TLS)", async () => {
  const { server, conn } = await startSServer(["-Verify", "1", "-CAfile", PATHS.ca]);
  const c = tlsHandle(conn, { tls: "connect", tlsOptions: { ...CLIENT, cert: CERT, key: KEY } });
  try {
    assert.deepEqual(await c.handshake(), { ok: true, err: undefined });
    c.h.pushWrite("authenticated\n");
    await server.expectOutput("authenticated\n");
    await server.write("welcome\n");
    assert.equal(await c.read("a line", c.h.read("line")), "welcome");
    c.h.pushShutdown();
    await c.eof();
    await c.close();
    assert.equal((await server.exit()).code, 0);
  } finally {
    await c.close();
    await server.stop();
  }
});

Deno.test("openssl s_server: a Handle client refuses an untrusted or misnamed certificate", async () => {
  const cases = [
    { tlsOptions: { caCerts: [OTHER_CA], hostname: "localhost" }, message: /certificate/i },
    { tlsOptions: { caCerts: [CA], hostname: "mail.example" }, message: /mail\.example/ },
  ];
  for (const { tlsOptions, message } of cases) {
    const { server, conn } = await startSServer();
    const c = tlsHandle(conn, { tls: "connect", tlsOptions, onError: () => {} });
    try {
      const { ok, err } = await c.handshake();
      assert.equal(ok, false);
      assert.equal(err?.code, "EPROTO");
      assert.equal(err?.fatal, true);
      assert.match(err!.message, /^TLS handshake failed: /);
      assert.match(err!.message, message);
      assert.equal(c.h.destroyed, true);
      await server.exit(); // s_server gives up on the connection and, with -naccept 1, exits
    } finally {
      await c.close();
      await server.stop();
    }
  }
});

Deno.test("openssl s_client: a Handle server (tls: accept) exchanges lines and bulk data both ways", async () => {
  const { client, conn } = await startSClient(VERIFY);
  const s = tlsHandle(conn, { tls: "accept", tlsOptions: SERVER });
  try {
    assert.deepEqual(await s.handshake(), { ok: true, err: undefined });
    await client.write("hello from openssl\r\n");
    assert.equal(await s.read("a line", s.h.read("line")), "hello from openssl");
    s.h.pushWrite("hello from deno\r\nsecond line\n");
    await client.expectOutput("hello from deno\r\nsecond line\n");

    const toServer = encoder.encode(lines(5000, "openssl"));
    const [got] = await Promise.all([
      s.read("bulk data", s.h.read("chunk", toServer.length)),
      client.write(toServer),
    ]);
    assert.deepEqual(got, toServer);
    const toClient = lines(5000, "deno");
    s.h.pushWrite(toClient);
    await client.expectOutput(toClient);

    // The server ends the session; s_client answers the close_notify and half-closes, which
    // is a clean end of input here; it exits 0 once the socket is closed.
    s.h.pushShutdown();
    await s.eof();
    await s.close();
    assert.equal((await client.exit()).code, 0);
    assert.equal(client.unexpectedOutput, "");
    assert.match(client.stderr, /depth=0 CN = localhost\s+verify return:1/);
  } finally {
    await s.close();
    await client.stop();
  }
});

Deno.test("openssl s_client: a client that does not trust the certificate fails the Handle server's handshake", async () => {
  const { client, conn } = await startSClient([
    ...["-CAfile", PATHS.ca.replace(/ca\.pem$/, "other-ca.pem"), "-verify_return_error"],
  ]);
  const s = tlsHandle(conn, { tls: "accept", tlsOptions: SERVER, onError: () => {} });
  try {
    const { ok, err } = await s.handshake();
    assert.equal(ok, false);
    assert.equal(err?.code, "EPROTO");
    assert.match(err!.message, /^TLS handshake failed: .*unknown.?ca/i);
    assert.equal(s.h.destroyed, true);
    assert.notEqual((await client.exit()).code, 0);
    assert.match(client.stderr, /certificate verify failed/);
  } finally {
    await s.close();
    await client.stop();
  }
});

Deno.test("openssl s_client -cert: a Handle server with requireClientCert takes a client certificate", async () => {
  const serverOptions = { ...SERVER, caCerts: [CA], requireClientCert: true };
  {
    const { client, conn } = await startSClient([
      ...VERIFY,
      "-cert",
      PATHS.cert,
      "-key",
      PATHS.key,
    ]);
    const s = tlsHandle(conn, { tls: "accept", tlsOptions: serverOptions });
    try {
      assert.deepEqual(await s.handshake(), { ok: true, err: undefined });
      await client.write("with a certificate\n");
      assert.equal(await s.read("a line", s.h.read("line")), "with a certificate");
      s.h.pushWrite("accepted\n");
      await client.expectOutput("accepted\n");
      s.h.pushShutdown();
      await s.eof();
      await s.close();
      assert.equal((await client.exit()).code, 0);
    } finally {
      await s.close();
      await client.stop();
    }
  }
  {
    // Without a certificate the handshake fails on the server.
    const { client, conn } = await startSClient(VERIFY);
    const s = tlsHandle(conn, { tls: "accept", tlsOptions: serverOptions, onError: () => {} });
    try {
      const { ok, err } = await s.handshake();
      assert.equal(ok, false);
      assert.equal(err?.code, "EPROTO");
      assert.match(err!.message, /^TLS handshake failed: .*certificate/i);
      await client.exit();
    } finally {
      await s.close();
      await client.stop();
    }
  }
});

Deno.test("openssl s_server -alpn and s_client -alpn: the Handle sees the protocol agreed", async () => {
  {
    const { server, conn } = await startSServer(["-alpn", "imap,smtp"]);
    const c = tlsHandle(conn, {
      tls: "connect",
      tlsOptions: { ...CLIENT, alpnProtocols: ["h2", "smtp"] },
    });
    try {
      assert.deepEqual(await c.handshake(), { ok: true, err: undefined });
      assert.equal(c.h.alpnProtocol, "smtp");
    } finally {
      await c.close();
      await server.stop();
    }
  }
  {
    const { client, conn } = await startSClient([...VERIFY, "-alpn", "h2,smtp"]);
    const s = tlsHandle(conn, {
      tls: "accept",
      tlsOptions: { ...SERVER, alpnProtocols: ["smtp", "imap"] },
    });
    try {
      assert.deepEqual(await s.handshake(), { ok: true, err: undefined });
      assert.equal(s.h.alpnProtocol, "smtp");
      await client.write("over smtp\n");
      assert.equal(await s.read("a line", s.h.read("line")), "over smtp");
    } finally {
      await s.close();
      await client.stop();
    }
  }
});

Deno.test({
  name:
    "openssl s_client -cert: a client certificate from a CA the server does not trust is refused",
  fn: async () => {
    const { client, conn } = await startSClient([
      ...VERIFY,
      "-cert",
      PATHS.cert,
      "-key",
      PATHS.key,
    ]);
    const s = tlsHandle(conn, {
      tls: "accept",
      tlsOptions: { ...SERVER, caCerts: [OTHER_CA], requireClientCert: true },
      onError: () => {},
    });
    try {
      const { ok, err } = await s.handshake();
      assert.equal(ok, false);
      assert.equal(err?.code, "EPROTO");
    } finally {
      await s.close();
      await client.stop();
    }
  },
});

/**
 * The example SMTP server and `openssl s_client -starttls smtp` connected to it; `body` gets
 * the client, the server and the server's transcript, and both are stopped afterwards.
 */
async function withSmtpClient(
  extraArgs: string[],
  body: (
    client: OpenSsl,
    smtp: ReturnType<typeof startSmtpServer>,
    log: string[],
  ) => Promise<void>,
): Promise<void> {
  const log: string[] = [];
  const smtp = startSmtpServer({ cert: CERT, key: KEY, log: (line) => log.push(line) });
  const client = new OpenSsl([
    "s_client",
    ...["-connect", `127.0.0.1:${smtp.port}`, "-starttls", "smtp", ...extraArgs],
    ...["-quiet", "-nocommands", ...VERIFY],
  ]);
  try {
    await body(client, smtp, log);
  } finally {
    await client.stop();
    await smtp.close();
  }
}

Deno.test("openssl s_client -starttls smtp: upgrades the example SMTP server and talks over TLS", async () => {
  await withSmtpClient(["-name", "openssl.test"], async (client, smtp, log) => {
    // s_client does the plaintext part itself (greeting, EHLO, STARTTLS) and prints none of
    // it; what it sends from stdin goes over TLS.
    await client.write("EHLO over.tls\r\n");
    await client.expectOutput("250-localhost Hello over.tls\r\n250 8BITMIME\r\n"); // no STARTTLS
    await client.write("MAIL FROM:<alice@example.com>\r\n");
    await client.expectOutput("250 OK\r\n");
    await client.write("RCPT TO:<bob@example.com>\r\n");
    await client.expectOutput("250 OK\r\n");
    await client.write("DATA\r\n");
    await client.expectOutput("354 End data with <CR><LF>.<CR><LF>\r\n");
    await client.write("Subject: interop\r\n\r\n..starts with a dot\r\nbye\r\n.\r\n");
    await client.expectOutput("250 OK: queued as 1\r\n");
    await client.write("QUIT\r\n");
    await client.expectOutput("221 localhost closing connection\r\n");
    assert.equal((await client.exit()).code, 0);
    assert.equal(client.unexpectedOutput, "");

    assert.deepEqual(log.slice(0, 9), [
      "S: 220 localhost ESMTP",
      "C: EHLO openssl.test",
      "S: 250-localhost Hello openssl.test",
      "S: 250-STARTTLS",
      "S: 250 8BITMIME",
      "C: STARTTLS",
      "S: 220 Ready to start TLS",
      "-- STARTTLS: handshake started",
      "-- TLS established",
    ]);
    assert.ok(log.indexOf("C: EHLO over.tls") > log.indexOf("-- TLS established"));
    assert.deepEqual(smtp.messages, [{
      from: "alice@example.com",
      to: ["bob@example.com"],
      lines: ["Subject: interop", "", ".starts with a dot", "bye"],
      tls: true,
    }]);
  });
});

Deno.test("openssl s_client -starttls smtp: QUIT right after the upgrade gets 221 over TLS", async () => {
  await withSmtpClient([], async (client, _smtp, log) => {
    await client.write("QUIT\r\n");
    await client.expectOutput("221 localhost closing connection\r\n");
    assert.equal((await client.exit()).code, 0);
    assert.ok(log.includes("-- TLS established"));
    assert.ok(log.indexOf("C: QUIT") > log.indexOf("-- TLS established"));
  });
});

Deno.test("openssl s_client -starttls smtp: a client that rejects the certificate leaves one line saying the handshake failed, once", async () => {
  const log: string[] = [];
  const smtp = startSmtpServer({ cert: CERT, key: KEY, log: (line) => log.push(line) });
  const client = new OpenSsl([
    "s_client",
    ...["-connect", `127.0.0.1:${smtp.port}`, "-starttls", "smtp", "-quiet", "-nocommands"],
    ...["-CAfile", PATHS.ca.replace(/ca\.pem$/, "other-ca.pem"), "-verify_return_error"],
  ]);
  try {
    assert.notEqual((await client.exit()).code, 0);
    for (let i = 0; i < 200 && !log.some((line) => line.includes("handshake failed")); i++) {
      await sleep(10);
    }
    const failed = log.filter((line) => line.includes("handshake failed"));
    assert.deepEqual(failed, [
      "-- TLS handshake failed: ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: received fatal alert: UnknownCA",
    ]);
  } finally {
    await client.stop();
    await smtp.close();
  }
});
