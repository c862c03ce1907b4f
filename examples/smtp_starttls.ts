/**
 * STARTTLS the SMTP way (RFC 3207), server and client in one process over loopback, printed
 * as a transcript:
 *
 *     deno run --allow-net --allow-read examples/smtp_starttls.ts
 *
 * Or the server alone, for a real client such as swaks (`--serve 0` picks a free port; the
 * first line printed is `smtp: listening on 127.0.0.1:PORT`, then every session's lines):
 *
 *     deno run --allow-net --allow-read examples/smtp_starttls.ts --serve 2525
 *     swaks --server 127.0.0.1:2525 --to bob@example.com --tls
 *
 * It serves until SIGINT or SIGTERM, then prints what it accepted and exits 0. The accept
 * loop is `Handle.serve`'s: a client that resets before it is accepted (a health check, a
 * port scanner) is skipped and counted in the last lines, and the next one is served as usual.
 * Without `--tls`, swaks gets the `530` for its `MAIL FROM` and exits 23 (its code for an
 * error in the MAIL transaction): this server takes no mail in plaintext. To check the
 * certificate as well, add `--tls-verify --tls-ca-path tests/certs/ca.pem`.
 *
 * The server ({@linkcode startSmtpServer}) greets, advertises `STARTTLS` in its `EHLO` reply,
 * refuses mail (`530`) until the session is encrypted, answers `STARTTLS` with
 * `220 Ready to start TLS` (pushed before `h.starttls("accept", ...)`, so it leaves in
 * plaintext) and goes on over TLS with the same read queue: `EHLO` again, `MAIL FROM`,
 * `RCPT TO`, `DATA` (lines up to a lone `.`), `QUIT`. The client reads replies with the promise
 * API and upgrades with `h.starttls("connect", ...)` once it has the `220`.
 *
 * The certificates are the test ones in `tests/certs/` (a private CA, a leaf for `localhost`).
 *
 * @module
 */
import { Handle, type HandleError, type ServeStats } from "../mod.ts";

/** Options for {@linkcode startSmtpServer}. */
export interface SmtpServerOptions {
  /** The server's PEM certificate chain, used after `STARTTLS`. */
  cert: string;
  /** The PEM private key of `cert`. */
  key: string;
  /**
   * The address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port to listen on; 0 picks a free one (read it back from `port`).
   *
   * @default {0}
   */
  port?: number;
  /**
   * The name the server gives itself in its replies.
   *
   * @default {"localhost"}
   */
  name?: string;
  /**
   * Seconds without any traffic after which a session is dropped (0: never).
   *
   * @default {60}
   */
  timeout?: number;
  /**
   * Receives the server's side of every session as text: `C: ` lines received, `S: ` lines
   * sent, and `-- ` notes (TLS started, errors, closed), with the session's number (1 for the
   * first connection accepted, and so on).
   */
  log?: (line: string, session: number) => void;
}

/** A message the server accepted. */
export interface SmtpMessage {
  /** The reverse path of `MAIL FROM:<...>`. */
  from: string;
  /** The forward paths of the `RCPT TO:<...>` commands. */
  to: string[];
  /** The message's lines, dot-unstuffed, without the terminating `.`. */
  lines: string[];
  /** Whether it arrived over TLS (always true: mail is refused before `STARTTLS`). */
  tls: boolean;
}

/** A running server: its port, what it received, and how to stop it. */
export interface SmtpServer {
  /** The port it listens on. */
  readonly port: number;
  /** The messages accepted so far, in order. */
  readonly messages: SmtpMessage[];
  /** What the accept loop has seen: connections accepted, reset before accept, ... */
  readonly stats: ServeStats;
  /** Stops listening, destroys the sessions still open and waits until all is closed. */
  close(): Promise<void>;
}

/** The longest line read (RFC 5321 allows 998 bytes in a text line, 510 in a command). */
const MAX_LINE = 4096;

/**
 * Starts an SMTP-style server that requires STARTTLS before it takes mail, on
 * `Handle.serve`. Each connection is one {@linkcode Handle}, driven by a chain of `pushRead("line", ...)` callbacks; the
 * upgrade happens inside the callback that read `STARTTLS`, and the next `pushRead` is
 * satisfied from the decrypted stream.
 *
 * | command              | before STARTTLS                             | after                         |
 * | -------------------- | ------------------------------------------- | ----------------------------- |
 * | `EHLO name`          | `250-name Hello`, `250-STARTTLS`, `250 ...` | the same without STARTTLS     |
 * | `STARTTLS`           | `220 Ready to start TLS`, then TLS          | `503`                         |
 * | `MAIL`/`RCPT`/`DATA` | `530 Must issue a STARTTLS command first`   | `250` / `354`, message, `250` |
 * | `RSET`, `NOOP`       | `250 OK`                                    | `250 OK`                      |
 * | `QUIT`               | `221`, then half-close                      | the same                      |
 *
 * @param options The certificate and key, where to listen, a log.
 * @returns The running server.
 *
 * @example Serving on a free port
 * ```ts ignore
 * import { startSmtpServer } from "./examples/smtp_starttls.ts";
 *
 * const server = startSmtpServer({
 *   cert: Deno.readTextFileSync("tests/certs/server.pem"),
 *   key: Deno.readTextFileSync("tests/certs/server.key"),
 *   log: (line, session) => console.log(`[${session}] ${line}`),
 * });
 * // openssl s_client -connect 127.0.0.1:<port> -starttls smtp -CAfile tests/certs/ca.pem
 * console.log(`listening on 127.0.0.1:${server.port}`);
 * // ... later
 * await server.close();
 * console.log(server.messages);
 * ```
 */
export function startSmtpServer(options: SmtpServerOptions): SmtpServer {
  const messages: SmtpMessage[] = [];
  let sessions = 0;
  // Handle.serve owns the accept loop: a client that resets before it is accepted is skipped
  // and counted (server.stats), never the end of the loop.
  const server = Handle.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    handle: { noDelay: true, timeout: options.timeout ?? 60 },
  }, (h) => serveSession(h, options, messages, ++sessions));
  return {
    port: (server.addr as Deno.NetAddr).port,
    messages,
    get stats() {
      return server.stats;
    },
    close: () => server.shutdown(0),
  };
}

/** One SMTP session on one connection. */
function serveSession(
  h: Handle,
  options: SmtpServerOptions,
  messages: SmtpMessage[],
  session: number,
): void {
  const name = options.name ?? "localhost";
  const log = (line: string) => options.log?.(line, session);
  const tlsOptions = { cert: options.cert, key: options.key };
  let tls = false;
  let greeted = false;
  let from: string | undefined;
  let to: string[] = [];
  const reset = () => {
    from = undefined;
    to = [];
  };

  h.onTimeout = (h) => {
    log("-- no traffic, closing");
    h.destroy();
  };
  h.onEof = (h) => {
    log("-- client closed the connection");
    h.destroy();
  };
  h.onError = (_h, err: HandleError) => log(`-- error ${err.code}: ${err.message}`);
  h.onStarttls = (_h, ok, err) => {
    log(ok ? "-- TLS established" : `-- ${err?.message}`); // "TLS handshake failed: ..."
  };

  /** Sends a reply of one or more lines (one write). */
  const reply = (...lines: string[]) => {
    for (const line of lines) log(`S: ${line}`);
    h.pushWrite(lines.map((line) => `${line}\r\n`).join(""));
  };
  const next = () => h.pushRead("line", { maxLength: MAX_LINE }, command);

  const command = (h: Handle, line: string): void => {
    log(`C: ${line}`);
    const verb = line.split(" ", 1)[0].toUpperCase();
    const arg = line.slice(verb.length).trim();
    const needTls = verb === "MAIL" || verb === "RCPT" || verb === "DATA";
    if (needTls && !tls) {
      reply("530 Must issue a STARTTLS command first");
      return next();
    }
    switch (verb) {
      case "EHLO":
        if (arg === "") {
          reply("501 Syntax: EHLO hostname");
          break;
        }
        greeted = true;
        reset();
        reply(`250-${name} Hello ${arg}`, ...(tls ? [] : ["250-STARTTLS"]), "250 8BITMIME");
        break;
      case "HELO":
        greeted = arg !== "";
        reset();
        reply(greeted ? `250 ${name}` : "501 Syntax: HELO hostname");
        break;
      case "STARTTLS":
        if (tls) {
          reply("503 TLS already active");
          break;
        }
        // The 220 is queued before starttls, so it leaves in plaintext; what the client
        // sends next is the start of the handshake, and the next line read is decrypted.
        reply("220 Ready to start TLS");
        h.starttls("accept", tlsOptions);
        log("-- STARTTLS: handshake started");
        tls = true;
        greeted = false; // RFC 3207: forget everything, the client must EHLO again
        reset();
        break;
      case "MAIL": {
        const path = /^FROM:\s*<([^>]*)>/i.exec(arg)?.[1];
        if (!greeted) reply("503 Send EHLO first");
        else if (from !== undefined) reply("503 Sender already given");
        else if (path === undefined) reply("501 Syntax: MAIL FROM:<address>");
        else {
          from = path;
          reply("250 OK");
        }
        break;
      }
      case "RCPT": {
        const path = /^TO:\s*<([^>]+)>/i.exec(arg)?.[1];
        if (from === undefined) reply("503 Need MAIL command");
        else if (path === undefined) reply("501 Syntax: RCPT TO:<address>");
        else {
          to.push(path);
          reply("250 OK");
        }
        break;
      }
      case "DATA":
        if (to.length === 0) {
          reply("503 Need RCPT command");
          break;
        }
        reply("354 End data with <CR><LF>.<CR><LF>");
        return readData(h);
      case "RSET":
        reset();
        reply("250 OK");
        break;
      case "NOOP":
        reply("250 OK");
        break;
      case "QUIT":
        reply(`221 ${name} closing connection`);
        h.pushShutdown(); // after the 221; the session ends at the client's end of input
        return;
      default:
        reply("500 Command not recognized");
    }
    next();
  };

  /** Reads the message lines up to a lone ".", then goes back to commands. */
  const readData = (h: Handle) => {
    const lines: string[] = [];
    const dataLine = (h: Handle, line: string): void => {
      log(`C: ${line}`);
      if (line !== ".") {
        lines.push(line.startsWith(".") ? line.slice(1) : line);
        return h.pushRead("line", { maxLength: MAX_LINE }, dataLine);
      }
      messages.push({ from: from!, to, lines, tls });
      reset();
      reply(`250 OK: queued as ${messages.length}`);
      next();
    };
    h.pushRead("line", { maxLength: MAX_LINE }, dataLine);
  };

  reply(`220 ${name} ESMTP`);
  next();
}

/**
 * The client side of the demo: EHLO, a refused MAIL, STARTTLS, EHLO over TLS, one message,
 * QUIT. Every line sent and received goes to `print`.
 */
async function runClient(port: number, ca: string, print: (line: string) => void): Promise<void> {
  const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port }), { noDelay: true });
  const send = (line: string) => {
    print(`C: ${line}`);
    h.pushWrite(`${line}\r\n`);
  };
  /** Reads one reply (all its lines) and checks its code. */
  const expect = async (code: number): Promise<string[]> => {
    const lines: string[] = [];
    for (;;) {
      const line = await h.read("line");
      print(`S: ${line}`);
      lines.push(line);
      if (line[3] !== "-") break;
    }
    const last = lines[lines.length - 1];
    if (!last.startsWith(`${code}`)) throw new Error(`expected a ${code} reply, got "${last}"`);
    return lines;
  };
  const offersStarttls = (lines: string[]) =>
    lines.some((line) => line.slice(4).toUpperCase() === "STARTTLS");

  try {
    await expect(220);
    send("EHLO client.example");
    if (!offersStarttls(await expect(250))) throw new Error("the server does not offer STARTTLS");
    send("MAIL FROM:<alice@example.com>");
    await expect(530); // no mail in plaintext
    send("STARTTLS");
    await expect(220);

    const handshake = new Promise<void>((resolve, reject) => {
      h.onStarttls = (_h, ok, err) => ok ? resolve() : reject(err);
    });
    h.starttls("connect", { caCerts: [ca], hostname: "localhost" });
    await handshake;
    print("-- TLS established: everything below is encrypted --");

    send("EHLO client.example");
    if (offersStarttls(await expect(250))) throw new Error("STARTTLS offered again over TLS");
    send("MAIL FROM:<alice@example.com>");
    await expect(250);
    send("RCPT TO:<bob@example.com>");
    await expect(250);
    send("DATA");
    await expect(354);
    const message = [
      "Subject: over TLS",
      "",
      "Hello Bob,",
      ".a line that starts with a dot is sent as two dots",
      "Alice",
    ];
    for (const line of message) send(line.startsWith(".") ? `.${line}` : line);
    send(".");
    await expect(250);
    send("QUIT");
    await expect(221);
    // The server half-closes after its 221: read to the end.
    for await (const line of h.iterate("line")) print(`S: ${line}`);
    print("-- connection closed by the server --");
  } finally {
    h.destroy();
    await h.closed.catch(() => {});
  }
}

const USAGE = "usage: deno run --allow-net --allow-read examples/smtp_starttls.ts [--serve PORT]";

/** Reads the test certificates next to this file. */
function testCertificates(): { ca: string; cert: string; key: string } {
  const certs = new URL("../tests/certs/", import.meta.url);
  const pem = (file: string) => Deno.readTextFileSync(new URL(file, certs));
  return { ca: pem("ca.pem"), cert: pem("server.pem"), key: pem("server.key") };
}

/** The demo: the server on a free port and the client against it, as one transcript. */
async function demo(): Promise<number> {
  const { ca, cert, key } = testCertificates();
  const server = startSmtpServer({ cert, key });
  console.log(`-- SMTP server listening on 127.0.0.1:${server.port} --`);
  let failed = false;
  try {
    await runClient(server.port, ca, (line) => console.log(line));
  } catch (e) {
    console.error(`smtp_starttls: ${(e as Error).message}`);
    failed = true;
  } finally {
    await server.close();
  }
  const [message] = server.messages;
  console.log(
    `-- server accepted ${server.messages.length} message(s)` +
      (message
        ? `, ${message.lines.length} lines from <${message.from}> over TLS: ${message.tls}`
        : "") +
      " --",
  );
  return failed || server.messages.length !== 1 ? 1 : 0;
}

/**
 * The server alone on 127.0.0.1:`port` until SIGINT or SIGTERM, printing its address first
 * and then every session's lines; at the end, one line per message accepted.
 */
async function serve(port: number): Promise<number> {
  const { cert, key } = testCertificates();
  const server = startSmtpServer({
    cert,
    key,
    port,
    log: (line, session) => console.log(`[${session}] ${line}`),
  });
  const stop = Promise.withResolvers<void>();
  const onSignal = () => stop.resolve();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  // Printed once the signals are caught, so whoever reads it may stop the server at once.
  console.log(`smtp: listening on 127.0.0.1:${server.port}`);
  await stop.promise;
  for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  await server.close();
  for (const [i, m] of server.messages.entries()) {
    console.log(
      `smtp: message ${i + 1} from <${m.from}> to ${m.to.map((to) => `<${to}>`).join(", ")}, ` +
        `${m.lines.length} lines, over TLS: ${m.tls}`,
    );
  }
  const { accepted, resetBeforeAccept } = server.stats;
  console.log(
    `smtp: ${accepted} connection(s) accepted, ${resetBeforeAccept} reset before accept`,
  );
  console.log(`smtp: stopped, ${server.messages.length} message(s) accepted`);
  return 0;
}

if (import.meta.main) {
  const args = Deno.args;
  if (args.length === 0) Deno.exit(await demo());
  const port = /^\d{1,5}$/.test(args[1] ?? "") ? Number(args[1]) : NaN;
  if (args.length !== 2 || args[0] !== "--serve" || !(port <= 65535)) {
    console.error(USAGE);
    Deno.exit(2);
  }
  Deno.exit(await serve(port));
}
