/**
 * A PostgreSQL client (frontend/backend protocol version 3) over `lengthField`: every message
 * after the startup is a type byte and a 4-byte big-endian length that counts itself but not
 * the type byte; the startup message has no type byte.
 *
 * ```text
 * message:  +------+-----------------+--------------------+
 *           | type | length (int32)  | body (length - 4)  |   lengthField({ offset: 1, size: 4,
 *           | 'Q'  | counts itself   |                    |                 adjust: -4 })
 *           +------+-----------------+--------------------+
 * startup:  +-----------------+------------------+--------------------------------------+
 *           | length (int32)  | protocol 196608  | user\0postgres\0database\0...\0\0    |
 *           +-----------------+------------------+--------------------------------------+
 *             lengthField({ size: 4, adjust: -4 })
 * ```
 *
 * It speaks the startup message, `trust` authentication (any other method is refused with a
 * clear error), the simple query protocol (RowDescription, DataRow, CommandComplete,
 * EmptyQueryResponse, ErrorResponse, ReadyForQuery; notices and parameter changes are kept)
 * and Terminate. Values are text, as the simple protocol sends them.
 *
 * Run as a program against a server that trusts the user:
 *
 *     deno run --allow-net examples/postgres.ts HOST:PORT [USER [DATABASE]]
 *     deno run --allow-net --allow-read --allow-write examples/postgres.ts \
 *       /run/postgresql/.s.PGSQL.5432
 *
 * (a Unix socket is given by its path, and Deno asks for all three permissions for it; USER
 * defaults to postgres, DATABASE to USER).
 *
 * @module
 */
import { Handle, lengthField, type LengthFieldCodec } from "../mod.ts";

/** Every message after the startup: type byte, then a length that counts itself. */
export const pgMessage: LengthFieldCodec = lengthField({ offset: 1, size: 4, adjust: -4 });
/** The startup message: a length that counts itself, no type byte. */
export const pgStartup: LengthFieldCodec = lengthField({ size: 4, adjust: -4 });

const PROTOCOL_3_0 = 196608;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A column of a result, from RowDescription. */
export interface PgField {
  name: string;
  /** The type's OID (23 int4, 25 text, ...). */
  typeOid: number;
}

/** The result of one statement. */
export interface PgResult {
  fields: PgField[];
  /** The rows, each value as the server's text, or `null`. */
  rows: (string | null)[][];
  /** The command tag (`SELECT 1`, `INSERT 0 1`), or `""` for an empty query. */
  command: string;
}

/** An ErrorResponse: its fields by their one-letter codes, and the usual ones by name. */
export class PgError extends Error {
  /** The SQLSTATE (`22012` for a division by zero). */
  readonly code: string;
  /** `ERROR`, `FATAL` or `PANIC`. */
  readonly severity: string;
  /** Every field the server sent, by its code (`M` message, `D` detail, `P` position ...). */
  readonly fields: Readonly<Record<string, string>>;

  /**
   * Makes the error of an ErrorResponse.
   *
   * @param fields The response's fields.
   */
  constructor(fields: Record<string, string>) {
    super(`${fields.S ?? "ERROR"} ${fields.C ?? "?????"}: ${fields.M ?? "(no message)"}`);
    this.name = "PgError";
    this.code = fields.C ?? "";
    this.severity = fields.V ?? fields.S ?? "";
    this.fields = Object.freeze({ ...fields });
  }
}

/** Reads the body of one message: integers and NUL-terminated strings, in order. */
class Body {
  #view: DataView;
  #at = 5; // after the type byte and the length

  constructor(readonly frame: Uint8Array) {
    this.#view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  }

  int16(): number {
    const v = this.#view.getInt16(this.#at);
    this.#at += 2;
    return v;
  }

  int32(): number {
    const v = this.#view.getInt32(this.#at);
    this.#at += 4;
    return v;
  }

  bytes(n: number): Uint8Array {
    if (this.#at + n > this.frame.length) throw new Error("PostgreSQL message is truncated");
    const out = this.frame.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  cstring(): string {
    const end = this.frame.indexOf(0, this.#at);
    if (end < 0) throw new Error("PostgreSQL string has no terminating NUL");
    const s = decoder.decode(this.frame.subarray(this.#at, end));
    this.#at = end + 1;
    return s;
  }

  /** ErrorResponse and NoticeResponse fields: a code byte and a string each, then a 0. */
  fields(): Record<string, string> {
    const out: Record<string, string> = {};
    for (let code; (code = this.bytes(1)[0]) !== 0;) {
      out[String.fromCharCode(code)] = this.cstring();
    }
    return out;
  }
}

/** Where the server is: TCP, or a Unix socket's path. */
export type PgTarget = { hostname: string; port: number } | { path: string };

/** Who connects. */
export interface PgLogin {
  /** @default {"postgres"} */
  user?: string;
  /** @default {user} */
  database?: string;
}

/**
 * One session: connected and authenticated by {@linkcode PgClient.connect}, then queries one
 * at a time (a query asked for while another runs waits for it).
 */
export class PgClient {
  readonly #h: Handle;
  /** The server's parameters (server_version, client_encoding, ...), kept up to date. */
  readonly parameters: Map<string, string> = new Map();
  /** Notices the server sent (their `M` field), oldest first. */
  readonly notices: string[] = [];
  #turn: Promise<unknown> = Promise.resolve();

  private constructor(h: Handle) {
    this.#h = h;
  }

  /**
   * Connects, sends the startup message and completes authentication (`trust` only).
   *
   * @param target The server's address or Unix socket.
   * @param login The user and database.
   * @returns A session ready for queries.
   * @throws {PgError} If the server refuses the session.
   * @throws {Error} If it asks for a password or another authentication method.
   */
  static async connect(target: PgTarget, login: PgLogin = {}): Promise<PgClient> {
    const conn = "path" in target
      ? await Deno.connect({ transport: "unix", path: target.path })
      : await Deno.connect(target);
    const client = new PgClient(new Handle(conn, { timeout: 60 }));
    try {
      await client.#startup(login.user ?? "postgres", login.database ?? login.user ?? "postgres");
    } catch (e) {
      client.#h.destroy();
      await client.#h.closed.catch(() => {});
      throw e;
    }
    return client;
  }

  async #startup(user: string, database: string): Promise<void> {
    const params = ["user", user, "database", database, "client_encoding", "UTF8"];
    const text = encoder.encode(params.map((p) => `${p}\0`).join("") + "\0");
    const body = new Uint8Array(4 + text.length);
    new DataView(body.buffer).setInt32(0, PROTOCOL_3_0);
    body.set(text, 4);
    this.#h.pushWrite(pgStartup, body);
    for (;;) {
      const m = new Body(await this.#h.read(pgMessage));
      const type = String.fromCharCode(m.frame[0]);
      if (type === "R") {
        const method = m.int32();
        if (method !== 0) {
          throw new Error(
            `PostgreSQL asks for authentication method ${method}; this example speaks only trust`,
          );
        }
      } else if (type === "E") throw new PgError(m.fields()); // at startup it ends the session
      else if (type === "Z") return;
      else this.#common(type, m); // ParameterStatus, BackendKeyData, notices
    }
  }

  /** Messages that may come at any time. */
  #common(type: string, m: Body): void {
    if (type === "S") this.parameters.set(m.cstring(), m.cstring());
    else if (type === "N") this.notices.push(m.fields().M ?? "");
    // K (BackendKeyData, for cancelling) and A (notifications) are not used here.
  }

  /**
   * Runs one statement with the simple query protocol. After an error the session stays
   * usable: the server still ends the query with ReadyForQuery, which is waited for.
   *
   * @param sql One SQL statement (with several, the last one's result is returned).
   * @returns Its columns, rows and command tag.
   * @throws {PgError} The server's ErrorResponse.
   */
  query(sql: string): Promise<PgResult> {
    const run = this.#turn.then(() => this.#query(sql));
    this.#turn = run.catch(() => {});
    return run;
  }

  async #query(sql: string): Promise<PgResult> {
    this.#h.pushWrite(pgMessage, "Q", `${sql}\0`);
    let result: PgResult = { fields: [], rows: [], command: "" };
    let error: PgError | undefined;
    for (;;) {
      const m = new Body(await this.#h.read(pgMessage));
      const type = String.fromCharCode(m.frame[0]);
      if (type === "T") {
        result = { fields: [], rows: [], command: "" };
        for (let n = m.int16(); n > 0; n--) {
          const name = m.cstring();
          m.bytes(6); // table OID, column number
          const typeOid = m.int32();
          m.bytes(8); // type size, type modifier, format
          result.fields.push({ name, typeOid });
        }
      } else if (type === "D") {
        const row: (string | null)[] = [];
        for (let n = m.int16(); n > 0; n--) {
          const length = m.int32();
          row.push(length < 0 ? null : decoder.decode(m.bytes(length)));
        }
        result.rows.push(row);
      } else if (type === "C") result.command = m.cstring();
      else if (type === "I") result = { fields: [], rows: [], command: "" };
      else if (type === "E") error = new PgError(m.fields());
      else if (type === "Z") break;
      else this.#common(type, m);
    }
    if (error !== undefined) throw error;
    return result;
  }

  /** Sends Terminate and waits for the server to close the connection. */
  async terminate(): Promise<void> {
    await this.#turn;
    this.#h.pushWrite(pgMessage, "X", "");
    try {
      await this.#h.read(pgMessage); // the server closes: end of input rejects this read
    } catch { /* EPIPE: closed, as it should */ }
    this.#h.destroy();
    await this.#h.closed.catch(() => {});
  }
}

// The program: `deno run --allow-net examples/postgres.ts HOST:PORT [USER [DATABASE]]`.

const USAGE =
  "usage: deno run --allow-net examples/postgres.ts HOST:PORT|SOCKET_PATH [USER [DATABASE]]";
const TYPES: Record<number, string> = {
  16: "bool",
  20: "int8",
  23: "int4",
  25: "text",
  701: "float8",
  1043: "varchar",
};

/** Prints a result as `columns:`, `row:` lines and the command tag. */
function show(result: PgResult, print: (line: string) => void): void {
  const columns = result.fields.map((f) => `${f.name} (${TYPES[f.typeOid] ?? f.typeOid})`);
  print(`columns: ${columns.join(", ")}`);
  for (const row of result.rows) print(`row: ${row.map((v) => v ?? "NULL").join(" | ")}`);
  print(result.command);
}

/**
 * Runs the session: a query, a division by zero, a query after it, Terminate.
 *
 * @param target The server.
 * @param login The user and database.
 * @param print Where each line goes.
 */
export async function runExample(
  target: PgTarget,
  login: PgLogin,
  print: (line: string) => void,
): Promise<void> {
  const client = await PgClient.connect(target, login);
  print(
    `connected as ${login.user ?? "postgres"}: trust, client_encoding ${
      client.parameters.get("client_encoding")
    }`,
  );
  for (const sql of ["SELECT 1 + 1, 'héllo'", "SELECT 1/0", "SELECT 'still here' AS session"]) {
    print(`> ${sql}`);
    try {
      show(await client.query(sql), print);
    } catch (e) {
      if (!(e instanceof PgError)) throw e;
      print(`${e.severity} ${e.code}: ${e.fields.M}`);
    }
  }
  print("> Terminate");
  await client.terminate();
  print("closed");
}

/** Parses `HOST:PORT`, `[v6 address]:PORT` or a Unix socket path (starting with `/`). */
function parseTarget(text: string): PgTarget | undefined {
  if (text.startsWith("/")) return { path: text };
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || port < 1 || port > 65535) return undefined;
  return { hostname: m[1] ?? m[2], port };
}

if (import.meta.main) {
  const [where, user, database] = Deno.args;
  const target = where === undefined || Deno.args.length > 3 ? undefined : parseTarget(where);
  if (target === undefined) {
    console.error(USAGE);
    Deno.exit(2);
  }
  try {
    await runExample(target, { user, database }, (line) => console.log(line));
  } catch (e) {
    console.error(`postgres: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
