/**
 * The README's instructions for using a local checkout from another project, tried in a
 * project of its own in a temporary directory, with the checkout reached through a symlink
 * (`anyevent-handle` next to or inside the project): importing the CBOR module by path fails
 * without the package's import map, and both documented fixes (a workspace, or mapping the
 * entry points and `cborg` in the project's deno.json) load and type-check all three entry points
 * (`.`, `./cbor`, `./testing`).
 * `--cached-only`: `cborg` is already in Deno's cache, since this suite imports it.
 *
 *     deno test --allow-read --allow-write --allow-run tests/readme_imports.test.ts
 */
import assert from "node:assert/strict";

const CHECKOUT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const CBORG = JSON.parse(Deno.readTextFileSync(`${CHECKOUT}/deno.json`)).imports.cborg as string;

/** What the user's program imports, and what it prints when all of it loaded. */
const PROGRAM = `import { Handle } from "@anyevent/handle";
import * as cbor from "@anyevent/handle/cbor";
import { scripted } from "@anyevent/handle/testing";
console.log(typeof Handle, Object.keys(cbor).length > 0, typeof scripted);
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `deno run main.ts` in `cwd`, as the user would there (`--quiet`, `--cached-only`,
 * `--no-lock`), type-checking it first if `check`.
 */
async function runIn(cwd: string, check = true): Promise<Run> {
  const flags = ["--quiet", "--cached-only", "--no-lock", ...(check ? ["--check"] : [])];
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "main.ts"],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: r.code, stdout: text(r.stdout), stderr: text(r.stderr) };
}

/** Makes a temporary directory, passes it to `body`, and removes it (not the checkout). */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "readme_imports_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }); // removes the symlink, never its target
  }
}

Deno.test("README: by path from a project with its own deno.json, mod.ts loads and the cbor module does not", async () => {
  await inTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/app`);
    await Deno.symlink(CHECKOUT, `${dir}/anyevent-handle`);
    await Deno.writeTextFile(`${dir}/app/deno.json`, "{}\n");
    await Deno.writeTextFile(
      `${dir}/app/main.ts`,
      'import { Handle } from "../anyevent-handle/mod.ts";\nconsole.log(typeof Handle);\n',
    );
    assert.deepEqual(await runIn(`${dir}/app`), { code: 0, stdout: "function\n", stderr: "" });
    await Deno.writeTextFile(`${dir}/app/main.ts`, 'import "../anyevent-handle/codecs/cbor.ts";\n');
    const r = await runIn(`${dir}/app`, false); // (a type check fails on the same import)
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: Import "cborg\/taglib" not a dependency/);
  });
});

Deno.test("README: the checkout as a workspace member resolves every entry point and imports by path", async () => {
  await inTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/app`);
    await Deno.symlink(CHECKOUT, `${dir}/anyevent-handle`);
    await Deno.writeTextFile(`${dir}/deno.json`, '{ "workspace": ["./anyevent-handle"] }\n');
    await Deno.writeTextFile(
      `${dir}/app/main.ts`,
      PROGRAM + 'import "../anyevent-handle/codecs/cbor.ts";\n',
    );
    assert.deepEqual(await runIn(`${dir}/app`), {
      code: 0,
      stdout: "function true function\n",
      stderr: "",
    });
  });
});

Deno.test("README: an import map with the entry points and cborg resolves every entry point", async () => {
  await inTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/app`);
    await Deno.symlink(CHECKOUT, `${dir}/anyevent-handle`);
    const imports = {
      "@anyevent/handle": "../anyevent-handle/mod.ts",
      "@anyevent/handle/cbor": "../anyevent-handle/codecs/cbor.ts",
      "@anyevent/handle/testing": "../anyevent-handle/testing/mod.ts",
      "cborg": CBORG,
    };
    await Deno.writeTextFile(`${dir}/app/deno.json`, JSON.stringify({ imports }, null, 2));
    await Deno.writeTextFile(`${dir}/app/main.ts`, PROGRAM);
    assert.deepEqual(await runIn(`${dir}/app`), {
      code: 0,
      stdout: "function true function\n",
      stderr: "",
    });
    const readme = await Deno.readTextFile(`${CHECKOUT}/README.md`);
    assert.ok(readme.includes(`"cborg": "${CBORG}"`), "the README gives the version in deno.json");
    for (const [name, path] of Object.entries(imports)) {
      if (name !== "cborg") {
        assert.ok(readme.includes(`"${name}": "${path}"`), `README maps ${name}`);
      }
    }
  });
});
