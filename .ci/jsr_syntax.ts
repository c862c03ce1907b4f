/**
 * Applies the JSR registry's upload rule to every file `deno publish --dry-run` would publish:
 * no top-level `declare module "..."`, `declare global`, `export =` or `export as namespace`
 * ("modifying global types is not allowed"). The dry run itself does not check this.
 *
 * Run: deno run --allow-read --allow-run --allow-env .ci/jsr_syntax.ts [files...] (files given
 * are checked instead of the dry run's list).
 */
import ts from "typescript";

const files = Deno.args.length > 0 ? Deno.args : await publishedFiles();

async function publishedFiles(): Promise<string[]> {
  const dry = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const listing = new TextDecoder().decode(dry.stdout) + new TextDecoder().decode(dry.stderr);
  if (!dry.success) {
    console.error(listing);
    Deno.exit(1);
  }
  const listed = [...listing.matchAll(/file:\/\/(\S+\.(?:ts|tsx|mts|js|mjs))\b/g)].map((m) =>
    decodeURIComponent(m[1])
  );
  if (listed.length === 0) {
    console.error("jsr-syntax: the dry run listed no source files:\n" + listing);
    Deno.exit(1);
  }
  return listed;
}

const problems: string[] = [];
for (const path of files) {
  const source = ts.createSourceFile(path, Deno.readTextFileSync(path), ts.ScriptTarget.Latest);
  for (const statement of source.statements) {
    const where = () => {
      const { line } = source.getLineAndCharacterOfPosition(statement.getStart(source));
      return `${path}:${line + 1}`;
    };
    if (ts.isModuleDeclaration(statement)) {
      const declared = ts.getModifiers(statement)?.some((m) =>
        m.kind === ts.SyntaxKind.DeclareKeyword
      );
      const global = (statement.flags & ts.NodeFlags.GlobalAugmentation) !== 0;
      if (declared || global) {
        problems.push(`${where()}: declare ${global ? "global" : "module"} is banned by JSR`);
      }
    } else if (ts.isExportAssignment(statement) && statement.isExportEquals) {
      problems.push(`${where()}: export = is banned by JSR`);
    } else if (ts.isNamespaceExportDeclaration(statement)) {
      problems.push(`${where()}: export as namespace is banned by JSR`);
    }
  }
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  Deno.exit(1);
}
console.log(`jsr-syntax: ${files.length} published files, none modifies global types`);
