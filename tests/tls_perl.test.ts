/**
 * STARTTLS interop with the real Perl AnyEvent::Handle 7.x and AnyEvent::TLS (Net::SSLeay),
 * in both roles: tests/fixtures/anyevent_starttls.pl is the server (its `starttls("accept")`
 * against our `starttls("connect")`) or the client (its `starttls("connect")`, verifying our
 * certificate against the test CA, against our `starttls("accept")`). Each session exchanges
 * plaintext lines first, then STARTTLS, then lines and netstrings both ways over TLS: echoed by
 * AnyEvent's own codecs, checked by Perl (SHA-256 of what it decoded) and produced by Perl
 * (known payloads), all compared byte for byte.
 *
 * Needs `perl` with AnyEvent, EV and Net::SSLeay (Debian: libanyevent-perl libev-perl
 * libnet-ssleay-perl).
 */
import assert from "node:assert/strict";
import { allBytes, noise } from "./_bytes.ts";
import { Handle, type HandleError } from "../mod.ts";
import { deferred } from "./_net.ts";
import { CLIENT, OTHER_CA, PATHS, SERVER } from "./_tls.ts";

const PEER = new URL("./fixtures/anyevent_starttls.pl", import.meta.url).pathname;
const OTHER_CA_PATH = new URL("./certs/other-ca.pem", import.meta.url).pathname;
const KIB = 1024;
const MIB = 1024 * KIB;
/** A backstop for a whole session; the Perl peer gives up on its own after 20 s. */
const SESSION_LIMIT_MS = 30_000;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Asserts equal bytes, naming the first difference (a plain deepEqual diff of 256 KiB is useless). */
function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.ok(actual instanceof Uint8Array, `${what}: not bytes`);
  let at = 0;
  const n = Math.min(actual.length, expected.length);
  while (at < n && actual[at] === expected[at]) at++;
  if (at === n && actual.length === expected.length) return;
  assert.fail(
    `${what}: ${actual.length} bytes, expected ${expected.length}; first difference at ${at} ` +
      `(got ${actual[at]}, expected ${expected[at]})`,
  );
}

/**
 * Waits for `p` at most `ms` milliseconds; on time-out calls `onTimeout` and rejects. The timer
 * is always cleared.
 */
async function bounded<T>(p: Promise<T>, ms: number, what: string, onTimeout = () => {}) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${what}: nothing after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A running Perl peer with piped stdio. */
interface PerlPeer {
  /** The first line it prints on stdout (the server role prints "port <n>"). */
  firstLine: Promise<string>;
  /** Settles when the process has exited. */
  status: Promise<Deno.CommandStatus>;
  kill(): void;
}

/**
 * Runs the Perl peer with `args` while `session` talks to it, then waits for the process, its
 * stdout and its stderr. A failed session is reported with the peer's stderr.
 *
 * @returns The peer's exit code and stderr.
 */
async function withPerl(
  args: string[],
  session: (peer: PerlPeer) => Promise<void>,
): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command("perl", {
    args: [PEER, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const firstLine = deferred<string>();
  firstLine.promise.catch(() => {});
  const stdout = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk, { stream: true });
      const nl = text.indexOf("\n");
      if (nl >= 0) firstLine.resolve(text.slice(0, nl));
    }
    firstLine.reject(new Error(`the Perl peer printed no line on stdout: ${JSON.stringify(text)}`));
    return text;
  })();
  const peer: PerlPeer = {
    firstLine: firstLine.promise,
    status: child.status,
    kill() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    },
  };

  const running = session(peer);
  let failure: unknown;
  try {
    await bounded(running, SESSION_LIMIT_MS, "the session", peer.kill);
  } catch (e) {
    failure = e;
    // A failed session has closed its handle, and the peer, seeing the end of its input,
    // exits with its own message; kill it only if it does not. Killing it also ends a
    // session that timed out, so that the session closes its handle.
    await bounded(child.status, 2_000, "the Perl peer's exit").catch(peer.kill);
    await bounded(running.catch(() => {}), 5_000, "the session after the peer's exit")
      .catch(() => {});
  }
  const [status, err] = await Promise.all([child.status, stderr, stdout]);
  if (failure !== undefined) {
    const message = failure instanceof Error ? failure.message : String(failure);
    throw new Error(
      `${message}\n--- Perl peer (exit ${status.code}) stderr:\n${err}`,
      { cause: failure },
    );
  }
  return { code: status.code, stderr: err };
}

/** Accepts one connection, or fails as soon as the Perl peer exits without connecting. */
async function acceptFrom(listener: Deno.TcpListener, peer: PerlPeer): Promise<Deno.TcpConn> {
  const accepting = listener.accept();
  accepting.catch(() => {});
  const exited = peer.status.then((s) => {
    throw new Error(`the Perl peer exited (code ${s.code}) without connecting`);
  });
  exited.catch(() => {});
  return await Promise.race([accepting, exited]);
}

/** `onStarttls` that settles a promise, and the promise. */
function starttlsResult(): {
  done: Promise<void>;
  onStarttls: (h: Handle, ok: boolean, err?: HandleError) => void;
} {
  const d = deferred<void>();
  d.promise.catch(() => {});
  return {
    done: d.promise,
    onStarttls: (_h, ok, err) => ok ? d.resolve() : d.reject(err ?? new Error("no error given")),
  };
}

/**
 * What both roles do once TLS is up: lines and netstrings both ways, pipelined, then "quit".
 * The Perl peer is serving commands; see the fixture's header.
 */
async function trafficOverTls(h: Handle): Promise<void> {
  assert.equal(h.tls, true);
  h.pushWrite("tls\n");
  // Perl's own view of its session: the protocol, the cipher, X509_V_OK.
  assert.match(await h.read("line"), /^tls TLSv1\.[23] \S+ verify=0$/);

  // Lines: echoed by AnyEvent's line reader, then lines Perl makes.
  const lines = ["hello over TLS", "", "ünïcödé ✓ 😀", "tab\tand\rcr", "x".repeat(100_000)];
  for (const line of lines) h.pushWrite(`line\n${line}\n`);
  h.pushWrite("lines 3\n");
  for (const line of lines) assert.equal(await h.read("line"), line);
  for (let i = 1; i <= 3; i++) assert.equal(await h.read("line"), `perl line ${i} ünïcödé ✓`);

  // Netstrings echoed by AnyEvent's netstring reader and writer.
  const echoed = [
    allBytes(),
    new Uint8Array(),
    new TextEncoder().encode("0:xx,,\n"),
    noise(256 * KIB, 1),
  ];
  for (const p of echoed) {
    h.pushWrite("netstring\n");
    h.pushWrite("netstring", p);
  }
  for (const [i, p] of echoed.entries()) {
    assertBytes(await h.read("netstring"), p, `echoed netstring ${i}`);
  }

  // Our netstrings as Perl decoded them: their SHA-256 and length, computed in Perl.
  const checked = [allBytes(), noise(256 * KIB, 2)];
  for (const p of checked) {
    h.pushWrite("sha256\n");
    h.pushWrite("netstring", p);
  }
  for (const p of checked) {
    assert.equal(await h.read("line"), `sha256 ${p.length} ${await sha256Hex(p)}`);
  }

  // Netstrings Perl makes: every byte value, and 256 KiB of the shared generator.
  h.pushWrite("give all\ngive lcg 3 262144\n");
  assertBytes(await h.read("netstring"), allBytes(), "Perl's 0..255");
  assertBytes(await h.read("netstring"), noise(256 * KIB, 3), "Perl's 256 KiB");

  h.pushWrite("quit\n");
  assert.equal(await h.read("line"), "bye");
  assert.equal(h.tls, true);
}

Deno.test("perl server: AnyEvent starttls(accept) against our starttls(connect), then lines and netstrings", async () => {
  const { code, stderr } = await withPerl(
    ["server", PATHS.cert, PATHS.key],
    async (peer) => {
      const port = Number(/^port (\d+)$/.exec(await peer.firstLine)?.[1]);
      assert.ok(port > 0, "the Perl server printed no port");
      const started = starttlsResult();
      const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }), {
        maxFrameLength: 4 * MIB,
        onStarttls: started.onStarttls,
      });
      try {
        assert.equal(await h.read("line"), "220 anyevent-starttls ready");
        h.pushWrite("PING plain\ntls\n");
        assert.equal(await h.read("line"), "PONG plain");
        assert.equal(await h.read("line"), "plain");
        assert.equal(h.tls, false);

        // The reply is read by a queued read, whose callback starts TLS.
        const go = deferred<string>();
        h.pushWrite("STARTTLS\n");
        h.pushRead("line", (h, line) => {
          if (line === "GO") h.starttls("connect", CLIENT);
          go.resolve(line);
        });
        assert.equal(await go.promise, "GO");
        assert.equal(h.tls, true);
        await started.done;
        h.pushWrite("PING over tls\n");
        assert.equal(await h.read("line"), "PONG over tls");
        await trafficOverTls(h);
      } finally {
        h.destroy();
        await h.closed.catch(() => {});
      }
    },
  );
  assert.equal(code, 0, `the Perl server failed:\n${stderr}`);
  assert.equal(stderr, "");
});

Deno.test("perl client: AnyEvent starttls(connect), verifying our certificate, against our starttls(accept)", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const { code, stderr } = await withPerl(
      ["client", String(listener.addr.port), PATHS.ca],
      async (peer) => {
        const conn = await acceptFrom(listener, peer);
        const started = starttlsResult();
        const h = new Handle(conn, { maxFrameLength: 4 * MIB, onStarttls: started.onStarttls });
        try {
          h.pushWrite("220 deno ready\n");
          assert.equal(await h.read("line"), "EHLO perl");
          h.pushWrite("250 hello perl\n");
          assert.equal(await h.read("line"), "STARTTLS");
          assert.equal(h.tls, false);
          h.pushWrite("GO\n");
          h.starttls("accept", SERVER);
          // Pushed before the handshake has finished: it leaves encrypted, after it.
          h.pushWrite("PING early\n");
          assert.equal(await h.read("line"), "starttls ok");
          assert.equal(await h.read("line"), "PONG early");
          await started.done;
          await trafficOverTls(h);
        } finally {
          h.destroy();
          await h.closed.catch(() => {});
        }
      },
    );
    assert.equal(code, 0, `the Perl client failed:\n${stderr}`);
    assert.equal(stderr, "");
  } finally {
    listener.close();
  }
});

Deno.test("perl client: a Perl client that does not trust our CA fails the handshake on both sides", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const { code, stderr } = await withPerl(
      ["client", String(listener.addr.port), OTHER_CA_PATH],
      async (peer) => {
        const conn = await acceptFrom(listener, peer);
        const started = starttlsResult();
        const h = new Handle(conn, { onStarttls: started.onStarttls });
        try {
          h.pushWrite("220 deno ready\n");
          assert.equal(await h.read("line"), "EHLO perl");
          h.pushWrite("250 hello perl\n");
          assert.equal(await h.read("line"), "STARTTLS");
          h.pushWrite("GO\n");
          h.starttls("accept", SERVER);
          await assert.rejects(started.done, (e: HandleError) => {
            assert.equal(e.code, "EPROTO");
            return true;
          });
          assert.equal(h.destroyed, true);
        } finally {
          h.destroy();
          await h.closed.catch(() => {});
        }
      },
    );
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /^anyevent_starttls \(client\): TLS handshake failed: .*certificate verify failed/,
    );
  } finally {
    listener.close();
  }
});

Deno.test("perl server: our client that does not trust the Perl server's CA fails the handshake", async () => {
  const { code, stderr } = await withPerl(
    ["server", PATHS.cert, PATHS.key],
    async (peer) => {
      const port = Number(/^port (\d+)$/.exec(await peer.firstLine)?.[1]);
      const started = starttlsResult();
      const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }), {
        onStarttls: started.onStarttls,
      });
      try {
        assert.equal(await h.read("line"), "220 anyevent-starttls ready");
        h.pushWrite("STARTTLS\n");
        assert.equal(await h.read("line"), "GO");
        h.starttls("connect", { caCerts: [OTHER_CA], hostname: "localhost" });
        await assert.rejects(started.done, (e: HandleError) => {
          assert.equal(e.code, "EPROTO");
          assert.match(e.message, /certificate/i);
          return true;
        });
      } finally {
        h.destroy();
        await h.closed.catch(() => {});
      }
    },
  );
  // Our client rejects the certificate after the handshake messages (node:tls checks it
  // then) and closes without a TLS alert: AnyEvent sees the connection end mid-handshake.
  assert.equal(code, 1, stderr);
  assert.match(
    stderr,
    /^anyevent_starttls \(server\): (TLS handshake failed|I\/O error|unexpected end of input)/,
  );
});
