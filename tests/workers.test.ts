/**
 * examples/workers.ts: worker processes sharing one port with `Handle.serve({ reusePort: true })`
 * (Linux `SO_REUSEPORT`). Two workers on one port both get connections; each stops cleanly when
 * its stdin closes or on SIGTERM, reporting what it served; the example run as a program starts
 * its workers, spreads a batch over them and leaves no worker process behind; a worker that
 * cannot listen (the port held without reusePort) makes `spawnWorker` reject. Only 127.0.0.1,
 * no fixed port: the first worker listens on port 0 and the second joins its port.
 *
 *     deno test --allow-net --allow-read --allow-run tests/workers.test.ts
 */
import assert from "node:assert/strict";
import { spawnWorker, whoami, type WorkerProcess } from "../examples/workers.ts";

const SCRIPT = new URL("../examples/workers.ts", import.meta.url).pathname;

/** Whether a process with this pid still exists (Linux: its /proc entry). */
function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

Deno.test("workers: two processes on one port with reusePort both answer, then stop cleanly", async () => {
  const workers: WorkerProcess[] = [];
  try {
    const first = await spawnWorker(0);
    workers.push(first);
    assert.ok(first.port > 0, "the first worker picked a free port");
    const second = await spawnWorker(first.port);
    workers.push(second);
    assert.equal(second.port, first.port, "the second worker shares the first one's port");
    assert.notEqual(second.pid, first.pid);

    // The kernel hashes each connection to one of the two listeners: keep connecting until
    // both have answered (200 connections all landing on one would be a 2^-199 chance).
    const answered = new Map<number, number>();
    let made = 0;
    const deadline = Date.now() + 60_000;
    while (answered.size < 2 && made < 200 && Date.now() < deadline) {
      const pid = await whoami(first.port);
      made++;
      answered.set(pid, (answered.get(pid) ?? 0) + 1);
    }
    assert.deepEqual(
      new Set(answered.keys()),
      new Set([first.pid, second.pid]),
      `after ${made} connections`,
    );

    const exits = await Promise.all(workers.map((w) => w.stop()));
    for (const [i, exit] of exits.entries()) {
      assert.equal(exit.status.code, 0, `worker ${workers[i].pid} exit code`);
      assert.equal(exit.served, answered.get(workers[i].pid), "served what it answered");
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
});

Deno.test("workers: a worker stops on SIGTERM, letting its open connection finish", async () => {
  const worker = await spawnWorker(0);
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: worker.port });
    const pid = await whoami(worker.port);
    assert.equal(pid, worker.pid);
    Deno.kill(worker.pid, "SIGTERM");
    // The server stops accepting but the open connection still gets its echo ...
    await conn.write(new TextEncoder().encode("still served\n"));
    const buf = new Uint8Array(64);
    let got = "";
    while (!got.endsWith("\n")) {
      const n = await conn.read(buf);
      assert.ok(n !== null, `closed after ${JSON.stringify(got)}`);
      got += new TextDecoder().decode(buf.subarray(0, n));
    }
    assert.equal(got, "still served\n");
    // ... and the worker exits once it is closed.
    conn.close();
    const exit = await worker.stop();
    assert.equal(exit.status.code, 0);
    assert.equal(exit.served, 2);
  } finally {
    await worker.stop();
  }
});

Deno.test("workers: the example as a program spreads a batch over its workers and reaps them", async () => {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), 90_000);
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-run", "--allow-read", SCRIPT, "2"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: timeout.signal,
    }).output();
  } finally {
    clearTimeout(timer);
  }
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stdout + stderr);
  assert.equal(stderr, "");
  const lines = stdout.trimEnd().split("\n");
  assert.equal(lines.length, 4, stdout);
  const started = lines[0].match(/^workers: 2 processes on 127\.0\.0\.1:(\d+), pids (\d+), (\d+)$/);
  assert.ok(started, lines[0]);
  const pids = [Number(started[2]), Number(started[3])];
  const batch = lines[1].match(/^workers: 20 connections answered by (.*)$/);
  assert.ok(batch, lines[1]);
  const counts = new Map(
    batch[1].split(", ").map((part) => {
      const [, pid, k] = part.match(/^(\d+) \((\d+)\)$/)!;
      return [Number(pid), Number(k)];
    }),
  );
  assert.deepEqual([...counts.keys()].sort(), [...pids].sort(), "a count for each worker");
  assert.equal([...counts.values()].reduce((a, b) => a + b), 20);
  for (const [i, pid] of pids.entries()) {
    assert.equal(
      lines[2 + i],
      `workers: ${pid} stopped, exit code 0, served ${counts.get(pid)} connections`,
    );
    assert.ok(!alive(pid), `worker ${pid} is gone`);
  }
});

Deno.test("workers: a worker cannot join a port held without reusePort, and says so", async () => {
  // Its stderr shows the AddrInUse it died of; spawnWorker turns that into one error.
  const holder = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(
      spawnWorker(holder.addr.port),
      new RegExp(`^Error: Cannot start a worker on port ${holder.addr.port}: .*exit code 1\\)$`),
    );
  } finally {
    holder.close();
  }
});
