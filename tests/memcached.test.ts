/**
 * examples/memcached.ts against a real memcached of its own (`-B binary`, see _memcached.ts):
 * the program's transcript, then a second client checking that its writes arrived (the key it
 * leaves, and all 10,000 quiet sets, read back with pipelined GETs); a quiet set that fails
 * reports its own error while the others succeed; a value of half a megabyte both ways.
 *
 *     deno test --allow-net --allow-read --allow-run --allow-env tests/memcached.test.ts
 */
import assert from "node:assert/strict";
import {
  BULK,
  bulkItem,
  EXAMPLE_FLAGS,
  EXAMPLE_KEY,
  EXAMPLE_VALUE,
  MemcachedClient,
  MemcachedError,
} from "../examples/memcached.ts";
import { startMemcached } from "./_memcached.ts";

const EXAMPLE = new URL("../examples/memcached.ts", import.meta.url).pathname;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Runs the example as a program with `--allow-net=127.0.0.1`. */
async function runExample(address: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", EXAMPLE, address],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("examples/memcached: the program's session, and a second client sees what it wrote", async () => {
  const server = await startMemcached();
  try {
    const r = await runExample(`127.0.0.1:${server.port}`);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      [
        '> SET anyevent:example:counter "10"',
        "stored",
        "> INCR anyevent:example:counter 5",
        "15",
        "> GET anyevent:example:counter",
        '"15" (flags 0)',
        "> DELETE anyevent:example:counter",
        "deleted",
        "> DELETE anyevent:example:counter",
        "(not found)",
        "> INCR anyevent:example:counter 1 (no initial value)",
        "(not found)",
        "> INCR anyevent:example:counter 1 (initial value 100)",
        "100",
        '> SET anyevent:example "héllo from @anyevent/handle" (flags 42)',
        "stored",
        "> INCR anyevent:example 1",
        "(error) memcached status 0x0006 (Incr/Decr on non-numeric value) for opcode 0x05: " +
        "Non-numeric server-side value for incr or decr",
        "> GET anyevent:example",
        '"héllo from @anyevent/handle" (flags 42)',
        "> SETQ anyevent:example:bulk:0 .. :9999 (x10000, pipelined, expire in 300 s), NOOP",
        "10000 stored, 0 failed, then the NOOP's response",
        "> GET anyevent:example:bulk:0",
        '"value 0" (flags 0)',
        "> GET anyevent:example:bulk:9999",
        '"value 9999" (flags 0)',
        "",
      ].join("\n"),
    );

    // Another connection: the key is there, the counter is gone, every quiet set arrived.
    const client = await MemcachedClient.connect("127.0.0.1", server.port);
    try {
      const item = await client.get(EXAMPLE_KEY);
      assert.ok(item !== undefined);
      assert.equal(text(item.value), EXAMPLE_VALUE);
      assert.equal(item.flags, EXAMPLE_FLAGS);
      assert.equal(await client.get(`${EXAMPLE_KEY}:counter`), undefined);
      const items = await Promise.all(
        Array.from({ length: BULK }, (_, i) => client.get(bulkItem(i)[0])),
      );
      const wrong = items.findIndex((it, i) =>
        it === undefined || text(it.value) !== bulkItem(i)[1]
      );
      assert.equal(wrong, -1, `bulk item ${wrong}`);
    } finally {
      await client.close();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("examples/memcached: a quiet set that fails rejects alone; the ones around it succeed", async () => {
  const server = await startMemcached();
  const client = await MemcachedClient.connect("127.0.0.1", server.port);
  try {
    const cas = await client.set("quiet:target", "v1");
    const [before, stale, after, noop] = await Promise.allSettled([
      client.setQuiet("quiet:a", "a"),
      client.setQuiet("quiet:target", "v2", { cas: cas + 1000n }), // a wrong CAS
      client.setQuiet("quiet:b", "b"),
      client.noop(),
    ]);
    assert.deepEqual([before.status, after.status, noop.status], [
      "fulfilled",
      "fulfilled",
      "fulfilled",
    ]);
    assert.equal(stale.status, "rejected");
    assert.ok(stale.reason instanceof MemcachedError);
    assert.equal(stale.reason.status, 0x02); // Key exists
    assert.equal(text((await client.get("quiet:target"))!.value), "v1");
    assert.equal(text((await client.get("quiet:b"))!.value), "b");
  } finally {
    await client.close();
    await server.stop();
  }
});

Deno.test("examples/memcached: a value of half a megabyte is stored and read back whole", async () => {
  const server = await startMemcached();
  const client = await MemcachedClient.connect("127.0.0.1", server.port);
  try {
    const value = Uint8Array.from({ length: 512 * 1024 }, (_, i) => (i * 31) & 255);
    await client.set("big", value, { flags: 7 });
    const item = await client.get("big");
    assert.equal(item?.flags, 7);
    assert.deepEqual(item?.value, value);
  } finally {
    await client.close();
    await server.stop();
  }
});

Deno.test("examples/memcached: the program says why it failed when nothing listens", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const r = await runExample(`127.0.0.1:${port}`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^memcached: .*refused/i);
  assert.equal((await runExample("nonsense")).code, 2);
});
