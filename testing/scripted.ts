/**
 * {@linkcode scripted}: an in-memory peer that plays a script against a handle and checks
 * every byte the handle writes.
 *
 * @module
 */
import type { Transport } from "../base/transport.ts";
import { toBytes } from "./_hex.ts";
import { ScriptRun } from "./_script_run.ts";
import type { Step } from "./_steps.ts";

/**
 * Options for {@linkcode scripted}.
 *
 * @example A script that may take up to 10 s
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import { scripted } from "@anyevent/handle/testing";
 * import assert from "node:assert/strict";
 *
 * const peer = scripted({ timeout: 10_000 }).wait(20).send("late\n").end();
 * const h = new Handle(peer.conn, { onEof: (h) => h.destroy() });
 * assert.equal(await h.read("line"), "late");
 * await peer.done;
 * ```
 */
export interface ScriptedOptions {
  /**
   * Milliseconds the whole script may take, from the first use of `conn` or `done` until every
   * step has run and the handle has closed; then `done` rejects. Waits count against it.
   * `Infinity`: no limit.
   *
   * @default {2000}
   */
  timeout?: number;
}

/**
 * A scripted peer: build its script with the step methods (each returns the peer), hand
 * {@linkcode ScriptedPeer.conn} to `new Handle(...)`, run your protocol code on the handle, and
 * await {@linkcode ScriptedPeer.done}. Made by {@linkcode scripted}.
 *
 * The script runs in order. `send`, `end` and `reset` queue input for the handle's reads and
 * the script goes on at once; `expect` and `expectEnd` hold it until the handle's output
 * matches; `wait` holds it for a time. The handle's writes are checked as they arrive, in
 * whatever pieces they come; a write made during a `wait` is checked against the expect after
 * it (a handle may answer early), but never against one beyond a `send`, `end` or `reset`
 * that has not run yet.
 *
 * `done` rejects when the handle writes bytes that differ from the expected ones, writes more
 * than expected, ends its output or closes while steps are left or sent bytes are unread, or
 * when the script has not finished within the `timeout` option. The message names the step
 * (`step 2 expect`, counted from 1) and shows the expected and the actual bytes in hex and as
 * text. The peer then hangs up: the handle's read in flight, or its next read or write, fails
 * with `ECONNRESET` and that message. Every timer the peer starts is cleared when `done`
 * settles; await `done` in every test.
 *
 * @example An SMTP client's first exchange
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import { scripted } from "@anyevent/handle/testing";
 * import assert from "node:assert/strict";
 *
 * const peer = scripted()
 *   .send("220 mail.example ESMTP\r\n")
 *   .expect("EHLO me\r\n")
 *   .send("250 ok\r\n")
 *   .end();
 * const h = new Handle(peer.conn, { onEof: (h) => h.destroy() });
 * assert.equal(await h.read("line"), "220 mail.example ESMTP");
 * h.pushWrite("EHLO me\r\n");
 * assert.equal(await h.read("line"), "250 ok");
 * await peer.done;
 * ```
 *
 * @example A wrong byte fails the script, naming the step
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import { scripted } from "@anyevent/handle/testing";
 * import assert from "node:assert/strict";
 *
 * const peer = scripted().expect("PING\r\n");
 * const h = new Handle(peer.conn, { onError: () => {} });
 * h.pushWrite("PONG\r\n");
 * await assert.rejects(peer.done, /^Error: step 1 expect: the handle wrote bytes that differ/);
 * await assert.rejects(h.closed, { code: "ECONNRESET" });
 * ```
 */
export class ScriptedPeer {
  #run: ScriptRun;
  #inputEnded = false;

  /**
   * Makes a peer with an empty script; {@linkcode scripted} is the short form.
   *
   * @param options The time limit.
   * @throws {RangeError} If `timeout` is not a positive number.
   */
  constructor(options: ScriptedOptions = {}) {
    const timeout = options.timeout ?? 2000;
    if (typeof timeout !== "number" || !(timeout > 0)) {
      throw new RangeError(`Expected timeout to be a positive number of ms, got ${timeout}`);
    }
    this.#run = new ScriptRun(timeout);
  }

  /**
   * The peer sends bytes: each argument is delivered by one read of the handle's, in order (a
   * chunk larger than the handle's read buffer fills that read, and the rest comes next). An
   * empty chunk is a read of 0 bytes. Strings are sent as UTF-8.
   *
   * @param chunks The reads.
   * @returns The peer.
   * @throws {TypeError} After `end()` or `reset()`, or for a chunk that is not bytes or text.
   *
   * @example Bytes cut into three reads
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import { scripted } from "@anyevent/handle/testing";
   * import assert from "node:assert/strict";
   *
   * const peer = scripted().send("he", new Uint8Array([0x6c, 0x6c]), "o\n").end();
   * const h = new Handle(peer.conn, { onEof: (h) => h.destroy() });
   * assert.equal(await h.read("line"), "hello");
   * await peer.done;
   * ```
   */
  send(...chunks: (string | Uint8Array)[]): this {
    if (this.#inputEnded) throw new TypeError("Cannot send after end() or reset()");
    return this.#add({ kind: "send", chunks: chunks.map(toBytes) });
  }

  /**
   * The handle must write exactly these bytes next, in any number of writes, before the script
   * goes on.
   *
   * @param bytes The bytes, or text as UTF-8.
   * @returns The peer.
   * @throws {TypeError} If `bytes` is neither a string nor a `Uint8Array`.
   *
   * @example Two writes meet one expect
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import { scripted } from "@anyevent/handle/testing";
   *
   * const peer = scripted().expect("HELO me\r\n");
   * const h = new Handle(peer.conn);
   * h.pushWrite("HELO ");
   * await h.drain();
   * h.pushWrite("me\r\n");
   * await h.drain();
   * h.destroy();
   * await peer.done;
   * ```
   */
  expect(bytes: string | Uint8Array): this {
    return this.#add({ kind: "expect", bytes: toBytes(bytes), matched: 0 });
  }

  /**
   * Waits before the next step: for timeouts, or input that comes late.
   *
   * @param ms Milliseconds.
   * @returns The peer.
   * @throws {RangeError} If `ms` is negative or not finite.
   *
   * @example A read timeout while the peer is silent
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import { scripted } from "@anyevent/handle/testing";
   * import assert from "node:assert/strict";
   *
   * const peer = scripted().send("a\n").wait(100).send("b\n");
   * let timeouts = 0;
   * const h = new Handle(peer.conn, { rtimeout: 0.03, onRtimeout: () => timeouts++ });
   * assert.equal(await h.read("line"), "a");
   * assert.equal(await h.read("line"), "b");
   * assert.ok(timeouts >= 1);
   * h.destroy();
   * await peer.done;
   * ```
   */
  wait(ms: number): this {
    if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(`Expected a wait of 0 or more ms, got ${ms}`);
    }
    return this.#add({ kind: "wait", ms });
  }

  /**
   * The peer ends its output: the handle's reads from here on give end of input.
   *
   * @returns The peer.
   * @throws {TypeError} After `end()` or `reset()`.
   *
   * @example End of input inside a line is EPIPE
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import { scripted } from "@anyevent/handle/testing";
   * import assert from "node:assert/strict";
   *
   * const peer = scripted().send("no newline").end();
   * const h = new Handle(peer.conn);
   * await assert.rejects(h.read("line"), { code: "EPIPE" });
   * await peer.done;
   * ```
   */
  end(): this {
    if (this.#inputEnded) throw new TypeError("Cannot end after end() or reset()");
    this.#inputEnded = true;
    return this.#add({ kind: "end" });
  }

  /**
   * The peer resets the connection: the handle's next read fails as a reset socket's does
   * (`Deno.errors.ConnectionReset`), which a handle reports as a fatal `ECONNRESET`.
   *
   * @returns The peer.
   * @throws {TypeError} After `end()` or `reset()`.
   *
   * @example A reset mid-line
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import { scripted } from "@anyevent/handle/testing";
   * import assert from "node:assert/strict";
   *
   * const peer = scripted().send("half a li").reset();
   * const h = new Handle(peer.conn);
   * await assert.rejects(h.read("line"), { code: "ECONNRESET" });
   * await peer.done;
   * ```
   */
  reset(): this {
    if (this.#inputEnded) throw new TypeError("Cannot reset after end() or reset()");
    this.#inputEnded = true;
    return this.#add({ kind: "reset" });
  }

  /**
   * The handle must end its output here: half-close (`pushShutdown`) or close (`destroy`).
   *
   * @returns The peer.
   *
   * @example A client that half-closes after its request, then reads the reply
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import { scripted } from "@anyevent/handle/testing";
   * import assert from "node:assert/strict";
   *
   * const peer = scripted().expect("GET\n").expectEnd().send("data\n").end();
   * const h = new Handle(peer.conn, { onEof: (h) => h.destroy() });
   * h.pushWrite("GET\n");
   * h.pushShutdown();
   * assert.equal(await h.read("line"), "data");
   * await peer.done;
   * ```
   */
  expectEnd(): this {
    return this.#add({ kind: "expectEnd" });
  }

  /**
   * The peer's end of the connection, for `new Handle(peer.conn, ...)`. Using it starts the
   * script (and its time limit).
   *
   * @returns The transport.
   */
  get conn(): Transport {
    this.#run.start();
    return this.#run.conn;
  }

  /**
   * Resolves once every step has run, every sent byte has been read and the handle has closed;
   * rejects with an `Error` that says which step failed and how. Using it starts the script.
   *
   * @returns The promise.
   */
  get done(): Promise<void> {
    this.#run.start();
    return this.#run.done;
  }

  #add(step: Step): this {
    this.#run.add(step);
    return this;
  }
}

/**
 * Makes a {@linkcode ScriptedPeer}: a peer for tests that plays a script of what it sends and
 * what it expects the handle to write, with no socket.
 *
 * @param options The time limit for the whole script.
 * @returns The peer, with an empty script.
 * @throws {RangeError} If `timeout` is not a positive number.
 *
 * @example A server's greeting and one command
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import { scripted } from "@anyevent/handle/testing";
 *
 * // The code under test: greets, answers PING, and hangs up on QUIT.
 * function serve(h: Handle): void {
 *   h.pushWrite("+hello\r\n");
 *   const next = () =>
 *     h.pushRead("line", (h, command) => {
 *       if (command === "QUIT") return h.destroy();
 *       h.pushWrite(command === "PING" ? "+PONG\r\n" : "-ERR unknown\r\n");
 *       next();
 *     });
 *   next();
 * }
 *
 * const peer = scripted()
 *   .expect("+hello\r\n")
 *   .send("PING\r\n")
 *   .expect("+PONG\r\n")
 *   .send("NOPE\r\nQUIT\r\n")
 *   .expect("-ERR unknown\r\n")
 *   .expectEnd();
 * serve(new Handle(peer.conn));
 * await peer.done;
 * ```
 */
export function scripted(options?: ScriptedOptions): ScriptedPeer {
  return new ScriptedPeer(options);
}
