/**
 * A small grep: prints the lines of stdin that match a JavaScript regular expression.
 *
 *     deno run examples/grep.ts PATTERN < file
 *
 * The exit code is grep's: 0 if a line matched, 1 if none did, 2 for a missing or invalid
 * pattern or an I/O error. One handle over `{ reader: Deno.stdin, writer: Deno.stdout }` does
 * both sides: `onRead` splits what has arrived into lines with a `lineDecoder` (the fast path:
 * a run of short lines costs one `TextDecoder` call), and matching lines are queued with
 * `pushWrite`, so the output of one read leaves in one write.
 *
 * A reader that stops early (`| head`) ends it quietly, with exit code 0. GNU grep is killed
 * by SIGPIPE there (nothing printed; the shell reports 141), and only when SIGPIPE is ignored
 * does its write fail with EPIPE, which it reports as `grep: write error: Broken pipe`, exit
 * code 2. Deno ignores SIGPIPE, so this grep always gets the failed write, as an `EPIPE`
 * error whose cause is `Deno.errors.BrokenPipe`. It exits 0 without a message, as ripgrep
 * does in the same situation (its runtime ignores SIGPIPE too): something was written, so a
 * line matched, which is what 0 means, and the reader having all it wanted is no error.
 *
 * Like grep, and unlike a queued `line` read, it also takes a last line without a newline
 * (what `onRead` is left with at end of input) and prints it with one. Each line keeps its own
 * end of line (a CRLF file stays CRLF); the pattern sees the line without it. Lines may be of
 * any length (memory holds the longest one); input that is not UTF-8 is decoded with U+FFFD in
 * place of the bad bytes.
 *
 * @module
 */
import { Handle, lineDecoder, NEED_MORE } from "../mod.ts";

const USAGE = "usage: deno run examples/grep.ts PATTERN < file";

const [pattern, ...extra] = Deno.args;
if (pattern === undefined || extra.length > 0) {
  console.error(USAGE);
  Deno.exit(2);
}
let regex: RegExp;
try {
  regex = new RegExp(pattern);
} catch (e) {
  console.error(`grep: invalid pattern ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  Deno.exit(2);
}

let matched = false;
const emit = (h: Handle, line: string, eol: string) => {
  if (!regex.test(line)) return;
  matched = true;
  h.pushWrite(line + eol);
};

const lines = lineDecoder({ maxLength: Infinity });
const finished = Promise.withResolvers<void>();
const h = new Handle({ reader: Deno.stdin, writer: Deno.stdout }, {
  onRead(h) {
    for (let line; (line = lines.decode(h.rbuf)) !== NEED_MORE;) emit(h, line[0], line[1]);
    // At end of input onRead gets what is left, and must take it (else EPIPE): the last line,
    // which had no newline.
    if (h.eof && h.rbuf.length > 0) {
      emit(h, h.rbuf.text(), "\n");
      h.rbuf.consume(h.rbuf.length);
    }
  },
  onEof: () => finished.resolve(),
  onError(_h, err) {
    // The reader went away (`| head`): stop quietly, as grep does (see the module doc).
    if (err.code === "EPIPE" && err.cause instanceof Deno.errors.BrokenPipe) Deno.exit(0);
    console.error(`grep: ${err.code}: ${err.message}`);
    Deno.exit(2);
  },
});
await finished.promise;
await h.drain();
Deno.exit(matched ? 0 : 1);
