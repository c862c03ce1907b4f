/**
 * examples/postgres.ts against a real PostgreSQL of its own (initdb and pg_ctl as the postgres
 * user in a temporary directory, trust authentication; see _postgres.ts): the program's
 * session over TCP and over the Unix socket, and the client in this process: rows with NULLs,
 * command tags, an empty query, notices, errors with their SQLSTATE and the session going on,
 * queries asked for at once answered in order, a refused login.
 *
 *     deno test --allow-net --allow-read --allow-write --allow-run --allow-env tests/postgres.test.ts
 */
import assert from "node:assert/strict";
import { PgClient, PgError } from "../examples/postgres.ts";
import { startPostgres } from "./_postgres.ts";

const EXAMPLE = new URL("../examples/postgres.ts", import.meta.url).pathname;

async function runExample(permissions: string[], target: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, EXAMPLE, target],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

const TRANSCRIPT = [
  "connected as postgres: trust, client_encoding UTF8",
  "> SELECT 1 + 1, 'héllo'",
  "columns: ?column? (int4), ?column? (text)",
  "row: 2 | héllo",
  "SELECT 1",
  "> SELECT 1/0",
  "ERROR 22012: division by zero",
  "> SELECT 'still here' AS session",
  "columns: session (text)",
  "row: still here",
  "SELECT 1",
  "> Terminate",
  "closed",
  "",
].join("\n");

Deno.test("examples/postgres: the program's session over TCP and over the Unix socket", async () => {
  const server = await startPostgres();
  try {
    const tcp = await runExample(["--allow-net=127.0.0.1"], `127.0.0.1:${server.port}`);
    assert.equal(tcp.stderr, "");
    assert.equal(tcp.code, 0);
    assert.equal(tcp.stdout, TRANSCRIPT);
    const unix = await runExample(
      ["--allow-net", `--allow-read=${server.socket}`, `--allow-write=${server.socket}`],
      server.socket,
    );
    assert.equal(unix.stderr, "");
    assert.equal(unix.code, 0);
    assert.equal(unix.stdout, TRANSCRIPT);
  } finally {
    await server.stop();
  }
});

Deno.test("examples/postgres: the client's results, errors and session state against the real server", async () => {
  const server = await startPostgres();
  try {
    const client = await PgClient.connect({ path: server.socket });
    try {
      assert.match(client.parameters.get("server_version") ?? "", /^\d+/);
      assert.equal(client.parameters.get("client_encoding"), "UTF8");

      const values = await client.query(
        "SELECT * FROM (VALUES (1, 'a'), (2, NULL), (3, 'ü€😀')) AS t(n, s)",
      );
      assert.deepEqual(values.fields.map((f) => [f.name, f.typeOid]), [["n", 23], ["s", 25]]);
      assert.deepEqual(values.rows, [["1", "a"], ["2", null], ["3", "ü€😀"]]);
      assert.equal(values.command, "SELECT 3");

      assert.equal((await client.query("CREATE TEMP TABLE t (n int)")).command, "CREATE TABLE");
      const insert = await client.query("INSERT INTO t SELECT generate_series(1, 10000)");
      assert.equal(insert.command, "INSERT 0 10000");
      const all = await client.query("SELECT n FROM t ORDER BY n");
      assert.equal(all.rows.length, 10000);
      assert.deepEqual(all.rows.at(-1), ["10000"]);
      assert.deepEqual(await client.query(""), { fields: [], rows: [], command: "" });

      await client.query("DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$");
      assert.deepEqual(client.notices, ["hello from plpgsql"]);

      const syntax = await client.query("SELEC 1").then(() => undefined, (e) => e);
      assert.ok(syntax instanceof PgError);
      assert.equal(syntax.code, "42601");
      assert.equal(syntax.severity, "ERROR");
      assert.equal(syntax.fields.P, "1"); // the error's position in the query
      await assert.rejects(
        client.query("SELECT 1/0"),
        (e) => e instanceof PgError && e.code === "22012",
      );
      // The session is usable after errors, and queries asked for at once come back in order.
      const [a, b, c] = await Promise.allSettled([
        client.query("SELECT 'a'"),
        client.query("SELECT nope"),
        client.query("SELECT count(*) FROM t"),
      ]);
      assert.deepEqual(a.status === "fulfilled" && a.value.rows, [["a"]]);
      assert.ok(b.status === "rejected" && b.reason.code === "42703");
      assert.deepEqual(c.status === "fulfilled" && c.value.rows, [["10000"]]);
    } finally {
      await client.terminate();
    }

    const refused = await PgClient.connect({ hostname: "127.0.0.1", port: server.port }, {
      database: "no_such_database",
    }).then(() => undefined, (e) => e);
    assert.ok(refused instanceof PgError);
    assert.equal(refused.code, "3D000");
    assert.equal(refused.severity, "FATAL");
  } finally {
    await server.stop();
  }
});
