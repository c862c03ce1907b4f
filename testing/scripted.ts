/**
 * {@linkcode scripted}: an in-memory peer that plays a script against a handle and checks
 * every byte the handle writes.
 *
 * @module
 */
import type { Transport } from "../base/transport.ts";
import { describeBytes, toBytes } from "./_hex.ts";
import { expectLines, met, type Step, stepName } from "./_steps.ts";

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

/** Bytes the peer has sent and the handle has not yet read, or the end of its input. */
type Inbound = { step: number; data: Uint8Array; at: number } | {
  step: number;
  end: "end" | "reset";
};

/** A pending read of the handle's. */
interface PendingRead {
  p: Uint8Array;
  resolve(n: number | null): void;
  reject(e: unknown): void;
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
 * `done` rejects (and the peer resets the connection, so the handle fails with `ECONNRESET` and
 * its message) when the handle writes bytes that differ from the expected ones, writes more
 * than expected, ends its output or closes while steps are left or sent bytes are unread, or
 * when the script has not finished within the `timeout` option. The message names the step
 * (`step 2 expect`, counted from 1) and shows the expected and the actual bytes in hex and as
 * text. Every timer the peer starts is cleared when `done` settles.
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
  #steps: Step[] = [];
  #timeout: number;
  #pos = 0;
  #started = false;
  #settled = false;
  #failure: Error | undefined;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #waitTimer: ReturnType<typeof setTimeout> | undefined;
  #inbound: Inbound[] = [];
  #inputEnded = false;
  #read: PendingRead | undefined;
  #writeEnded = false;
  #closed = false;
  #done: Promise<void>;
  #resolve!: () => void;
  #reject!: (e: Error) => void;
  #conn: Transport;

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
    this.#timeout = timeout;
    this.#done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Whoever awaits `done` sees the failure; nobody awaiting it must not end the process.
    this.#done.catch(() => {});
    this.#conn = {
      read: (p) => this.#onRead(p),
      write: (p) => this.#onWrite(p),
      closeWrite: () => this.#onCloseWrite(),
      close: () => this.#onClose(),
    };
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
    this.#start();
    return this.#conn;
  }

  /**
   * Resolves once every step has run, every sent byte has been read and the handle has closed;
   * rejects with an `Error` that says which step failed and how. Using it starts the script.
   *
   * @returns The promise.
   */
  get done(): Promise<void> {
    this.#start();
    return this.#done;
  }

  #add(step: Step): this {
    if (this.#settled) throw new TypeError("Cannot add a step: the script has finished");
    this.#steps.push(step);
    if (this.#started) this.#run();
    return this;
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    if (Number.isFinite(this.#timeout)) {
      this.#deadline = setTimeout(() => this.#timedOut(), this.#timeout);
    }
    this.#run();
  }

  /** Runs steps until one must wait for the handle or the clock. */
  #run(): void {
    const steps = this.#steps;
    while (!this.#settled && this.#pos < steps.length) {
      const step = steps[this.#pos];
      if (step.kind === "wait") {
        this.#waitTimer ??= setTimeout(() => {
          this.#waitTimer = undefined;
          this.#pos++;
          this.#run();
        }, step.ms);
        break;
      }
      if (step.kind === "send") {
        for (const data of step.chunks) this.#inbound.push({ step: this.#pos, data, at: 0 });
      } else if (step.kind === "end" || step.kind === "reset") {
        this.#inbound.push({ step: this.#pos, end: step.kind });
      } else if (!met(step, this.#writeEnded)) break;
      this.#pos++;
    }
    this.#deliver();
  }

  /** The first step the handle's output has not met: past waits, up to any other step. */
  #target(): number {
    let k = this.#pos;
    while (k < this.#steps.length) {
      const step = this.#steps[k];
      if (step.kind !== "wait" && !met(step, this.#writeEnded)) break;
      k++;
    }
    return k;
  }

  /** Answers the pending read from the input queued so far. */
  #deliver(): void {
    const read = this.#read;
    const next = this.#inbound[0];
    if (read === undefined || next === undefined) return;
    this.#read = undefined;
    if ("data" in next) {
      const n = Math.min(next.data.length - next.at, read.p.length);
      read.p.set(next.data.subarray(next.at, next.at + n));
      next.at += n;
      if (next.at === next.data.length) this.#inbound.shift();
      read.resolve(n);
    } else if (next.end === "end") read.resolve(null);
    else read.reject(new Deno.errors.ConnectionReset("Connection reset by peer"));
  }

  #onRead(p: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("The conn is closed"));
    if (this.#failure !== undefined) return Promise.reject(this.#resetError());
    if (this.#read !== undefined) {
      return Promise.reject(new Deno.errors.Busy("A read is already in flight"));
    }
    return new Promise((resolve, reject) => {
      this.#read = { p, resolve, reject };
      this.#deliver();
    });
  }

  #onWrite(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("The conn is closed"));
    if (this.#failure !== undefined) return Promise.reject(this.#resetError());
    if (this.#writeEnded) {
      return Promise.reject(new Deno.errors.BrokenPipe("Cannot write after closeWrite"));
    }
    const steps = this.#steps;
    for (let i = 0; i < p.length;) {
      const k = this.#target();
      const step = steps[k];
      if (step?.kind !== "expect") {
        const where = k >= steps.length
          ? "after the last step"
          : step.kind === "expectEnd"
          ? "where its output should end"
          : "before this step ran";
        this.#fail(
          `${stepName(steps, k)}: the handle wrote ${p.length - i} bytes more than expected, ` +
            where + expectLines(undefined, p.subarray(i)),
        );
        return Promise.reject(this.#resetError());
      }
      const take = Math.min(step.bytes.length - step.matched, p.length - i);
      for (let j = 0; j < take; j++) {
        if (p[i + j] === step.bytes[step.matched + j]) continue;
        const at = step.matched + j;
        const actual = new Uint8Array(step.matched + p.length - i);
        actual.set(step.bytes.subarray(0, step.matched));
        actual.set(p.subarray(i), step.matched);
        this.#fail(
          `${stepName(steps, k)}: the handle wrote bytes that differ from the expected ones, ` +
            `at byte ${at}` + expectLines(step, actual, at),
        );
        return Promise.reject(this.#resetError());
      }
      step.matched += take;
      i += take;
    }
    this.#run();
    return Promise.resolve(p.length);
  }

  #onCloseWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("The conn is closed"));
    if (!this.#writeEnded) {
      const k = this.#target();
      const step = this.#steps[k];
      this.#writeEnded = true;
      if (step?.kind === "expect" && !this.#settled) {
        this.#fail(
          `${stepName(this.#steps, k)}: the handle ended its output (closeWrite) before ` +
            `writing the expected bytes` + expectLines(step),
        );
      } else this.#run();
    }
    return Promise.resolve();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writeEnded = true;
    const read = this.#read;
    this.#read = undefined;
    read?.resolve(null);
    if (this.#settled) return;
    this.#run();
    const steps = this.#steps;
    const left = steps.length - this.#pos;
    if (left > 0) {
      this.#fail(
        `${stepName(steps, this.#pos)}: the handle closed with ${plural(left, "step")} left` +
          expectLines(steps[this.#pos]),
      );
    } else if (this.#unread() !== undefined) {
      const [step, bytes] = this.#unread()!;
      this.#fail(
        `${stepName(steps, step)}: the handle closed without reading ` +
          `${plural(bytes.length, "byte")}\n  unread:   ${describeBytes(bytes)}`,
      );
    } else this.#settle();
  }

  #timedOut(): void {
    this.#deadline = undefined;
    const steps = this.#steps;
    const left = steps.length - this.#pos;
    const after = `after ${this.#timeout} ms`;
    const unread = this.#unread();
    if (left > 0) {
      this.#fail(
        `${stepName(steps, this.#pos)}: still waiting ${after}, with ` +
          `${plural(left, "step")} left` + expectLines(steps[this.#pos]),
      );
    } else if (unread !== undefined) {
      this.#fail(
        `${stepName(steps, unread[0])}: the handle has not read ` +
          `${plural(unread[1].length, "byte")} ${after}\n  unread:   ${describeBytes(unread[1])}`,
      );
    } else {
      this.#fail(
        `${stepName(steps, steps.length)}: every step ran, but the handle is still open ${after}`,
      );
    }
  }

  /** The step of the first sent byte not yet read, and all bytes not yet read. */
  #unread(): [number, Uint8Array] | undefined {
    const data = this.#inbound.filter((x) => "data" in x) as {
      step: number;
      data: Uint8Array;
      at: number;
    }[];
    if (data.length === 0) return undefined;
    const parts = data.map((x) => x.data.subarray(x.at));
    const bytes = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length;
    }
    return [data[0].step, bytes];
  }

  #resetError(): Error {
    return new Deno.errors.ConnectionReset(this.#failure!.message);
  }

  #fail(message: string): void {
    if (this.#settled) return;
    this.#failure = new Error(message);
    this.#settle(this.#failure);
    // The peer hangs up: the handle stops with ECONNRESET and the reason, and its timers end.
    const read = this.#read;
    this.#read = undefined;
    read?.reject(this.#resetError());
  }

  #settle(failure?: Error): void {
    this.#settled = true;
    clearTimeout(this.#deadline);
    clearTimeout(this.#waitTimer);
    this.#deadline = this.#waitTimer = undefined;
    if (failure === undefined) this.#resolve();
    else this.#reject(failure);
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
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
