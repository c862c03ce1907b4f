/**
 * The examples, run: examples/grep.ts as a child process fed on stdin (its output, its exit
 * codes 0, 1 and 2, and a quiet exit when its reader stops early), and examples/rpc.ts, its server and client in this process (pipelined
 * calls answered out of order and matched by id, errors, malformed requests, shutdown cutting
 * a sleep short), its client as a child process, and its demo's transcript; and
 * examples/smtp_starttls.ts in `--serve` mode, with a real swaks as the client (plaintext and
 * STARTTLS), also right after 50 clients reset before accept; and the client of examples/resp.ts against a real redis-server of its own.
 *
 *     deno test --allow-net --allow-read --allow-run tests/examples.test.ts
 */
import { freePort, type PeerServer, startPeer } from "./_peer_server.ts";
import assert from "node:assert/strict";
import { Handle } from "../mod.ts";
import { RpcClient, RpcError, startRpcServer } from "../examples/rpc.ts";

const GREP = new URL("../examples/grep.ts", import.meta.url).pathname;
const RPC = new URL("../examples/rpc.ts", import.meta.url).pathname;
const SMTP = new URL("../examples/smtp_starttls.ts", import.meta.url).pathname;
const CA = new URL("./certs/ca.pem", import.meta.url).pathname;
const RESP = new URL("../examples/resp.ts", import.meta.url).pathname;
const RESETS = new URL("./fixtures/reset_connects.pl", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run <args>` with `input` on stdin, killed if it takes over 60 s. */
async function run(args: string[], input = ""): Promise<Run> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), 60_000);
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: timeout.signal,
    }).spawn();
    const writer = child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(input));
      await writer.close();
    } catch { /* it exited without reading: the output says why */ }
    const { code, stdout, stderr } = await child.output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code, stdout: text(stdout), stderr: text(stderr) };
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("examples/grep: prints the matching lines, exit 0; a last line without newline counts", async () => {
  const input = "apple\nbanana\r\ncherry\n\nbandana split";
  const r = await run([GREP, "an+a"], input);
  assert.equal(r.stderr, "");
  assert.equal(r.code, 0);
  // Each line keeps its own end of line; the last one gets a newline, as grep gives it.
  assert.equal(r.stdout, "banana\r\nbandana split\n");
  const anchored = await run([GREP, "^(apple|)$"], input);
  assert.equal(anchored.stdout, "apple\n\n", "the pattern sees the line without its eol");
  assert.equal(anchored.code, 0);
});

Deno.test("examples/grep: many short lines in big reads give what grep gives", async () => {
  const numbers = Array.from({ length: 50_000 }, (_, i) => String(i + 1));
  const r = await run([GREP, "^4.*2$"], numbers.join("\n") + "\n");
  assert.equal(r.code, 0);
  const expected = numbers.filter((n) => /^4.*2$/.test(n));
  assert.equal(r.stdout, expected.map((n) => n + "\n").join(""));
});

Deno.test("examples/grep: no match is exit 1 with no output, also on empty input", async () => {
  const r = await run([GREP, "zebra"], "apple\nbanana\n");
  assert.deepEqual(r, { code: 1, stdout: "", stderr: "" });
  const empty = await run([GREP, "."], "");
  assert.deepEqual(empty, { code: 1, stdout: "", stderr: "" });
});

Deno.test("examples/grep: a missing or invalid pattern is exit 2 with a message", async () => {
  const missing = await run([GREP], "apple\n");
  assert.equal(missing.code, 2);
  assert.equal(missing.stdout, "");
  assert.match(missing.stderr, /^usage: deno run examples\/grep\.ts PATTERN < file\n$/);
  const invalid = await run([GREP, "(unclosed"], "apple\n");
  assert.equal(invalid.code, 2);
  assert.equal(invalid.stdout, "");
  assert.match(invalid.stderr, /^grep: invalid pattern "\(unclosed": /);
});

Deno.test("examples/grep: a reader that stops early (| head) ends it quietly with exit 0", async () => {
  const timeout = AbortSignal.timeout(60_000);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", GREP, "match"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: timeout,
  }).spawn();
  // 16 MB of matching lines: far more than a pipe holds, so grep is still writing when the
  // reader goes away, and its next write fails with EPIPE.
  const line = new TextEncoder().encode("a matching line\n".repeat(4096));
  const feeding = (async () => {
    const writer = child.stdin.getWriter();
    try {
      for (let i = 0; i < 256; i++) await writer.write(line);
      await writer.close();
    } catch { /* grep exited before reading it all: that is the point */ }
  })();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  const first = await reader.read();
  assert.ok(!first.done && first.value.length > 0, "grep wrote its first matches");
  assert.match(new TextDecoder().decode(first.value), /^a matching line\n/);
  await reader.cancel(); // closes our end of the pipe, as head does after its lines
  const status = await child.status;
  await feeding;
  assert.equal(await stderr, "", "no error message");
  assert.equal(status.signal, null);
  assert.equal(status.code, 0);
});

/** Whether a redis-server answers an inline PING on 127.0.0.1:`port`. */
async function answersPing(port: number): Promise<boolean> {
  let h: Handle | undefined;
  try {
    h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }), { timeout: 5 });
    h.pushWrite("PING\r\n");
    return await h.read("line") === "+PONG";
  } catch {
    return false;
  } finally {
    h?.destroy();
    await h?.closed.catch(() => {});
  }
}

/**
 * Starts a redis-server of its own on a free loopback port, without persistence, and waits
 * until it answers; tries another port if the one picked was taken in the meantime.
 */
function startRedis(): Promise<PeerServer> {
  return startPeer({
    name: "redis-server",
    program: "redis-server",
    args: (port) => [
      ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    ],
    answers: answersPing,
    poll: 50,
  });
}

Deno.test("examples/resp: the client against a real redis-server prints each reply, the 100 pipelined INCRs in order", async () => {
  const redis = await startRedis();
  try {
    const r = await run(["--allow-net=127.0.0.1", RESP, `127.0.0.1:${redis.port}`]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      [
        "> PING",
        "PONG",
        '> SET anyevent-handle:example:greeting "héllo, wörld"',
        "OK",
        "> GET anyevent-handle:example:greeting",
        '"héllo, wörld"',
        "> SET anyevent-handle:example:counter 0",
        "OK",
        "> INCR anyevent-handle:example:counter   (x100, all sent before reading a reply)",
        "(integer) 1 ... (integer) 100   (100 replies, in order)",
        "> GET anyevent-handle:example:counter",
        '"100"',
        "> INCR anyevent-handle:example:greeting",
        "(error) ERR value is not an integer or out of range",
        "> DEL anyevent-handle:example:greeting anyevent-handle:example:counter",
        "(integer) 2",
        "> GET anyevent-handle:example:greeting",
        "(nil)",
        "",
      ].join("\n"),
    );
    // The port alone means 127.0.0.1; the keys were deleted, so a second run prints the same.
    const again = await run(["--allow-net=127.0.0.1", RESP, String(redis.port)]);
    assert.deepEqual(again, r);
  } finally {
    await redis.stop();
  }
});

Deno.test("examples/resp: no server is exit 1 with the reason, a bad address exit 2 with usage", async () => {
  const port = freePort();
  const refused = await run(["--allow-net=127.0.0.1", RESP, `127.0.0.1:${port}`]);
  assert.equal(refused.code, 1);
  assert.equal(refused.stdout, "");
  assert.match(refused.stderr, new RegExp(`^resp: cannot connect to 127\\.0\\.0\\.1:${port}: `));
  for (const args of [["127.0.0.1:x"], ["host:70000"], ["a", "b"]]) {
    const usage = await run(["--allow-net=127.0.0.1", RESP, ...args]);
    assert.deepEqual(usage, {
      code: 2,
      stdout: "",
      stderr: "usage: deno run --allow-net examples/resp.ts [[host:]port]\n",
    });
  }
});

Deno.test("examples/rpc: pipelined calls are answered as they finish and matched by id", async () => {
  const server = startRpcServer();
  const { port } = server.addr;
  const client = RpcClient.connect(port);
  try {
    const order: string[] = [];
    const track = (name: string, p: Promise<unknown>) =>
      p.then(
        (result) => (order.push(name), { result }),
        (error) => (order.push(name), { error }),
      );
    const slow = track("slow", client.call("sleep", 300));
    const quick = track("quick", client.call("sleep", 30));
    const sum = track("add", client.call("add", [1, 2, 3.5]));
    const echo = track("echo", client.call("echo", { nested: ["x", null, true] }));
    const unknown = track("unknown", client.call("divide", [1, 0]));
    const bad = track("bad", client.call("add", "one two"));
    const noParams = track("noParams", client.call("echo"));
    const results = await Promise.all([slow, quick, sum, echo, unknown, bad, noParams]);
    assert.deepEqual(results.slice(0, 4), [
      { result: 300 },
      { result: 30 },
      { result: 6.5 },
      { result: { nested: ["x", null, true] } },
    ]);
    const [, , , , unknownErr, badErr] = results.map((r) => (r as { error?: unknown }).error);
    assert.ok(unknownErr instanceof RpcError);
    assert.equal(unknownErr.message, 'Unknown method "divide"');
    assert.ok(badErr instanceof RpcError);
    assert.equal(badErr.message, "add expects an array of numbers");
    assert.deepEqual(results[6], { result: null });
    // The immediate answers came first, in request order, then the sleeps by their length.
    assert.deepEqual(order, ["add", "echo", "unknown", "bad", "noParams", "quick", "slow"]);
  } finally {
    await client.close();
    await server.shutdown(1);
  }
});

Deno.test("examples/rpc: malformed requests get an error with id null and the connection goes on", async () => {
  const server = startRpcServer();
  const { port } = server.addr;
  const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }), { timeout: 20 });
  try {
    h.pushWrite("netstring", "not json");
    h.pushWrite("netstring", "[1,2]");
    h.pushWrite("netstring", JSON.stringify({ id: "s", method: "echo", params: "still here" }));
    const replies = [];
    for (let i = 0; i < 3; i++) {
      replies.push(JSON.parse(new TextDecoder().decode(await h.read("netstring"))));
    }
    assert.deepEqual(replies, [
      { id: null, error: "The request is not JSON" },
      { id: null, error: "The request has no id (a number or a string)" },
      { id: "s", result: "still here" },
    ]);
    // A frame that is not a netstring closes the connection.
    h.pushWrite("12x:");
    await assert.rejects(h.read("netstring"), { code: "EPIPE" });
  } finally {
    h.destroy();
    await h.closed.catch(() => {});
    await server.shutdown(1);
  }
});

Deno.test("examples/rpc: shutdown cuts pending sleeps short with an error reply", async () => {
  const server = startRpcServer();
  const client = RpcClient.connect(server.addr.port);
  try {
    // The echo's answer means the server has started the sleep sent before it.
    const sleeping = client.call("sleep", 10_000);
    assert.equal(await client.call("echo", "up"), "up");
    const stopped = server.shutdown(5);
    await assert.rejects(sleeping, new RpcError("The server is shutting down"));
    // A sleep that arrives after shutdown started fails at once as well.
    await assert.rejects(client.call("sleep", 10_000), new RpcError("The server is shutting down"));
    await client.close();
    await stopped;
  } finally {
    await client.close();
    await server.shutdown(1);
  }
});

Deno.test("examples/rpc: the client as a program prints the result, or the error with exit 1", async () => {
  const server = startRpcServer();
  const port = String(server.addr.port);
  try {
    const ok = await run(["--allow-net=127.0.0.1", RPC, "client", port, "add", "[40, 2]"]);
    assert.deepEqual(ok, { code: 0, stdout: "42\n", stderr: "" });
    const failed = await run(["--allow-net=127.0.0.1", RPC, "client", port, "sleep", "-1"]);
    assert.equal(failed.code, 1);
    assert.equal(failed.stderr, "rpc: sleep expects milliseconds from 0 to 10000\n");
    const usage = await run(["--allow-net=127.0.0.1", RPC]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^usage: /);
  } finally {
    await server.shutdown(1);
  }
});

Deno.test("examples/rpc: the demo's transcript", async () => {
  const r = await run(["--allow-net=127.0.0.1", RPC, "demo"]);
  assert.equal(r.stderr, "");
  assert.equal(r.code, 0);
  assert.equal(
    r.stdout,
    [
      "rpc: server on 127.0.0.1 (a free port)",
      "-> #1 sleep 150",
      "-> #2 add [1,2,3]",
      "-> #3 sleep 50",
      '-> #4 echo {"hello":"world"}',
      "-> #5 divide [1,0]",
      "<- #2 result 6",
      '<- #4 result {"hello":"world"}',
      '<- #5 error Unknown method "divide"',
      "<- #3 result 50",
      "<- #1 result 150",
      "rpc: done",
      "",
    ].join("\n"),
  );
});

/** swaks' output (stdout and stderr) as lines, and its exit code. */
interface SwaksRun {
  code: number;
  lines: string[];
}

/**
 * Runs `examples/smtp_starttls.ts --serve 0` as a child process for `body`, which gets the
 * child, its port and a swaks runner; then stops it with SIGTERM (also when `body` fails) and
 * returns the rest of its stdout as lines, its stderr and its exit status.
 */
async function withSmtpServe(
  body: (
    child: Deno.ChildProcess,
    port: string,
    swaks: (...extra: string[]) => Promise<SwaksRun>,
  ) => Promise<void>,
): Promise<{ log: string[]; stderr: string; status: Deno.CommandStatus }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", "--allow-read", SMTP, "--serve", "0"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const out = Handle.fromStreams(child.stdout, new WritableStream());
  let port = "";
  const log: string[] = [];
  let status: Deno.CommandStatus;
  /** Runs swaks against the server, with its usual output (stdout and stderr) as lines. */
  const swaksRun = async (...extra: string[]): Promise<SwaksRun> => {
    const r = await new Deno.Command("swaks", {
      args: [
        ...["--server", `127.0.0.1:${port}`, "--helo", "client.example", "--timeout", "20"],
        ...["--from", "alice@example.com", "--to", "bob@example.com", ...extra],
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output().catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      throw new Error("This test needs swaks on PATH: apt-get install swaks");
    });
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    return { code: r.code, lines: text.split("\n") };
  };
  try {
    const first = await out.read("line");
    port = /^smtp: listening on 127\.0\.0\.1:(\d+)$/.exec(first)?.[1] ?? "";
    assert.notEqual(port, "", `the first line gives the port: "${first}"`);
    await body(child, port, swaksRun);
  } finally {
    try {
      child.kill("SIGCONT"); // in case body stopped it and failed
      child.kill("SIGTERM");
    } catch { /* it has exited already */ }
    // The rest of its output, up to its exit (also when an assertion above failed).
    try {
      for await (const line of out.iterate("line")) log.push(line);
    } finally {
      out.destroy();
      await out.closed.catch(() => {});
      status = await child.status;
    }
  }
  return { log, stderr: await stderr, status };
}

/** swaks in plaintext: the EHLO reply offers STARTTLS, and mail is refused until TLS. */
async function swaksPlaintext(swaks: (...extra: string[]) => Promise<SwaksRun>): Promise<void> {
  const hello = await swaks("--quit-after", "EHLO");
  assert.equal(hello.code, 0, hello.lines.join("\n"));
  for (
    const line of [
      "<-  220 localhost ESMTP",
      " -> EHLO client.example",
      "<-  250-localhost Hello client.example",
      "<-  250-STARTTLS",
      "<-  250 8BITMIME",
      " -> QUIT",
      "<-  221 localhost closing connection",
    ]
  ) assert.ok(hello.lines.includes(line), `"${line}" in\n${hello.lines.join("\n")}`);
  const plain = await swaks();
  assert.equal(plain.code, 23, "swaks' code for an error in the MAIL transaction");
  assert.ok(plain.lines.includes("<** 530 Must issue a STARTTLS command first"));
}

/** swaks --tls: STARTTLS, the certificate checked against the test CA, the message over TLS. */
async function swaksTls(swaks: (...extra: string[]) => Promise<SwaksRun>): Promise<void> {
  const tls = await swaks("--tls", "--tls-verify", "--tls-ca-path", CA);
  assert.equal(tls.code, 0, tls.lines.join("\n"));
  const expected = [
    "<-  250-STARTTLS",
    " -> STARTTLS",
    "<-  220 Ready to start TLS",
    '=== TLS peer DN="/CN=localhost"',
    " ~> EHLO client.example",
    "<~  250-localhost Hello client.example",
    "<~  250 8BITMIME",
    " ~> MAIL FROM:<alice@example.com>",
    "<~  250 OK",
    " ~> RCPT TO:<bob@example.com>",
    "<~  250 OK",
    " ~> DATA",
    "<~  354 End data with <CR><LF>.<CR><LF>",
    " ~> .",
    "<~  250 OK: queued as 1",
    " ~> QUIT",
    "<~  221 localhost closing connection",
  ];
  // In this order, and with no STARTTLS offered over TLS.
  let at = 0;
  for (const line of expected) {
    const found = tls.lines.indexOf(line, at);
    assert.ok(found >= 0, `"${line}" after line ${at} in\n${tls.lines.join("\n")}`);
    at = found + 1;
  }
  assert.ok(tls.lines.some((line) => /^=== TLS started with cipher TLSv1\.[23]:/.test(line)));
  assert.ok(!tls.lines.includes("<~  250-STARTTLS"));
}

/** The message swaks --tls sent, in the server's closing lines. */
const MESSAGE_LINE =
  /^smtp: message 1 from <alice@example\.com> to <bob@example\.com>, \d+ lines, over TLS: true$/;

Deno.test("examples/smtp_starttls: swaks talks to --serve in plaintext and upgrades with --tls", async () => {
  const { log, stderr, status } = await withSmtpServe(async (_child, _port, swaks) => {
    await swaksPlaintext(swaks);
    await swaksTls(swaks);
  });
  assert.equal(stderr, "");
  assert.equal(status.code, 0);
  // The server's side: three sessions, the refusal in plaintext, the third one upgraded.
  for (
    const line of [
      "[1] C: EHLO client.example",
      "[2] S: 530 Must issue a STARTTLS command first",
      "[3] C: STARTTLS",
      "[3] S: 220 Ready to start TLS",
      "[3] -- TLS established",
      "[3] S: 250 OK: queued as 1",
      "smtp: 3 connection(s) accepted, 0 reset before accept",
      "smtp: stopped, 1 message(s) accepted",
    ]
  ) assert.ok(log.includes(line), `"${line}" in the server's output\n${log.join("\n")}`);
  assert.ok(log.some((line) => MESSAGE_LINE.test(line)));
});

Deno.test("examples/smtp_starttls: --serve goes on serving swaks after 50 clients reset before accept", async () => {
  const { log, stderr, status } = await withSmtpServe(async (child, port, swaks) => {
    // Stopped, the server accepts nothing: the kernel completes the 50 handshakes into the
    // listen backlog and the resets land there, so every one is reset before accept().
    child.kill("SIGSTOP");
    try {
      const perl = await new Deno.Command("perl", {
        args: [RESETS, port, "50", "--resets-only"],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        signal: AbortSignal.timeout(30_000),
      }).output();
      assert.ok(perl.success, new TextDecoder().decode(perl.stderr));
    } finally {
      child.kill("SIGCONT");
    }
    await swaksPlaintext(swaks);
    await swaksTls(swaks);
  });
  assert.equal(stderr, "", "nothing logged: no accept error, no session error");
  assert.equal(status.code, 0);
  for (
    const line of [
      "[3] -- TLS established",
      "[3] S: 250 OK: queued as 1",
      "smtp: 3 connection(s) accepted, 50 reset before accept",
      "smtp: stopped, 1 message(s) accepted",
    ]
  ) assert.ok(log.includes(line), `"${line}" in the server's output\n${log.join("\n")}`);
  assert.ok(log.some((line) => MESSAGE_LINE.test(line)));
  assert.ok(!log.some((line) => line.includes("accept failed")), log.join("\n"));
});
