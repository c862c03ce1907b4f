/**
 * The engine of a scripted peer: runs the steps, answers the handle's reads, checks its writes
 * and its end, and settles `done`. `ScriptedPeer` (scripted.ts) is its documented face.
 *
 * @module
 */
import type { Transport } from "../base/transport.ts";
import { describeBytes } from "./_hex.ts";
import { expectLines, met, type Step, stepName } from "./_steps.ts";

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

/** One run of a script: the steps as they are added, and the peer's state. */
export class ScriptRun {
  /** The script; steps may be added until the run has settled. */
  readonly steps: Step[] = [];
  /** The peer's end of the connection. */
  readonly conn: Transport;
  /** Settles once the run has settled (rejected runs are marked handled). */
  readonly done: Promise<void>;
  #timeout: number;
  #pos = 0;
  #started = false;
  #settled = false;
  #failure: Error | undefined;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #waitTimer: ReturnType<typeof setTimeout> | undefined;
  #inbound: Inbound[] = [];
  #read: PendingRead | undefined;
  #writeEnded = false;
  #closed = false;
  #resolve!: () => void;
  #reject!: (e: Error) => void;

  /** @param timeout Milliseconds for the whole run (`Infinity`: no limit). */
  constructor(timeout: number) {
    this.#timeout = timeout;
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Whoever awaits `done` sees the failure; nobody awaiting it must not end the process.
    this.done.catch(() => {});
    this.conn = {
      read: (p) => this.#onRead(p),
      write: (p) => this.#onWrite(p),
      closeWrite: () => this.#onCloseWrite(),
      close: () => this.#onClose(),
    };
  }

  /** Adds a step, and runs it at once if the run has started. */
  add(step: Step): void {
    if (this.#settled) throw new TypeError("Cannot add a step: the script has finished");
    this.steps.push(step);
    if (this.#started) this.#run();
  }

  /** Starts the clock and the steps, once. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (Number.isFinite(this.#timeout)) {
      this.#deadline = setTimeout(() => this.#timedOut(), this.#timeout);
    }
    this.#run();
  }

  /** Runs steps until one must wait for the handle or the clock. */
  #run(): void {
    const steps = this.steps;
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
    while (k < this.steps.length) {
      const step = this.steps[k];
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
    const steps = this.steps;
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
      const step = this.steps[k];
      this.#writeEnded = true;
      if (step?.kind === "expect" && !this.#settled) {
        this.#fail(
          `${stepName(this.steps, k)}: the handle ended its output (closeWrite) before ` +
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
    const steps = this.steps;
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
    const steps = this.steps;
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
