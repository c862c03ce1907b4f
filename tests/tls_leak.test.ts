/**
 * TLS servers that stay flat: connections closed at every stage of the handshake leave nothing
 * behind. A child process (`fixtures/tls_leak_child.ts`, run with `--expose-gc`) serves TLS
 * and, for each stage, opens 100 connections to warm up, then 300 more, and reports the JS
 * heap after GC; here each must have grown by less than 1 KiB per connection, all connections
 * must be closed, the descriptors given back, and RSS must not keep growing. The stages: a
 * client that never sends a byte (a TCP health check), one that sends half its ClientHello,
 * one that resets while the server answers its ClientHello, and one that completes the
 * handshake and has a line echoed; for `Handle.serve` with `tls: "accept"`, bare handles, and
 * `tls_autostart` in either, each without and then with `tlsOptions.sni`. Then servers that
 * destroy the handle themselves, at once or a little later.
 *
 * The leak this guards against: Deno's `node:tls` server socket, destroyed before its
 * ClientHello was complete (with an `SNICallback`) or before it had started (one tick after it
 * is made), was never freed, and with it everything the handle reached: 16 KiB of heap and
 * 35 to 140 KiB of RSS per connection.
 */
import assert from "node:assert/strict";

const CHILD = new URL("./fixtures/tls_leak_child.ts", import.meta.url).pathname;
const ENTRIES = ["serve", "bare", "autostart", "bare_autostart", "refuse"] as const;
/** The most the heap may grow per connection, after GC. */
const MAX_HEAP_PER_CONNECTION = 1024;
/**
 * The most RSS may grow per connection, in the second pass (with `sni`, after a first pass
 * without has warmed everything up), over the stages that make no session (silent, partial,
 * and the server's refusals). Stages with a full or half handshake are left out: there the
 * allocator's high-water mark rises once by about 30 MiB at some point in the run, then levels
 * off (at about 125 MiB over 3,600 handshakes). A leaked session costs 35 to 140 KiB.
 */
const MAX_RSS_PER_CONNECTION = 24 * 1024;
/** The stages, by name, that make no TLS session. */
const SESSIONLESS = new Set([
  "silent",
  "partial",
  "at once",
  "after 3 microtasks",
  "after a macrotask",
]);

interface Stage {
  sni: boolean;
  stage: string;
  heapPerConnection: number;
  rssPerConnection: number;
  open: number;
  fdsGained: number;
}

async function runChild(entry: string): Promise<{ stages: Stage[]; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    // Reading /proc/self/fd (the descriptors it holds) takes every permission.
    args: ["run", "--v8-flags=--expose-gc", "--allow-all", CHILD, entry],
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
  const out = await child.output();
  clearTimeout(timer);
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `the ${entry} child failed (${out.code}): ${stderr}\n${stdout}`);
  return { stages: stdout.trim().split("\n").map((line) => JSON.parse(line)), stderr };
}

Deno.test("tls leak: connections closed at every stage of the handshake leave the heap flat", async (t) => {
  // The children run side by side; each one measures only itself.
  const results = await Promise.all(ENTRIES.map(runChild));
  for (const [i, entry] of ENTRIES.entries()) {
    const { stages, stderr } = results[i];
    await t.step(entry, () => {
      assert.equal(stderr, "");
      assert.equal(stages.length, entry === "refuse" ? 6 : 8);
      for (const s of stages) {
        const what = `${entry}, ${s.sni ? "sni" : "no sni"}, ${s.stage}`;
        assert.ok(
          s.heapPerConnection < MAX_HEAP_PER_CONNECTION,
          `${what}: the heap grew by ${s.heapPerConnection} bytes per connection`,
        );
        assert.equal(s.open, 0, `${what}: ${s.open} connections still open`);
        assert.ok(s.fdsGained < 10, `${what}: ${s.fdsGained} more file descriptors`);
      }
      for (const s of stages.slice(stages.length / 2)) {
        if (!SESSIONLESS.has(s.stage)) continue;
        assert.ok(
          s.rssPerConnection < MAX_RSS_PER_CONNECTION,
          `${entry}, sni, ${s.stage}: RSS grew by ${s.rssPerConnection} bytes per connection`,
        );
      }
    });
  }
});
