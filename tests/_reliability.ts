/**
 * Helpers for the reliability suite (tests/reliability_*.test.ts): a seeded PRNG, bounded waits,
 * deterministic payloads, per-handle error accounting and a count of the process's open file
 * descriptors (Deno 2 has no `Deno.resources()`; on Linux `/proc/self/fd` says the same).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type Handle, HandleError, type HandleErrorCode, type HandleOptions } from "../mod.ts";

/** Every code `HandleError` documents (base/errors.ts). */
export const DOCUMENTED_CODES: ReadonlySet<string> = new Set<HandleErrorCode>([
  "EPIPE",
  "ENOSPC",
  "EMSGSIZE",
  "EBADMSG",
  "ETIMEDOUT",
  "EPROTO",
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOENT",
  "EHOSTUNREACH",
  "ENOTCONN",
  "ENOTFOUND",
  "EIO",
  "ECANCELED",
  "ECALLBACK",
  "EINVAL",
]);

/** A small, fast, seeded PRNG (mulberry32): the same seed gives the same sequence. */
export class Rng {
  #s: number;

  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max] (both included). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = (this.next() * 256) | 0;
    return out;
  }
}

/** What {@linkcode within} fails with: something did not settle in time (a hang). */
export class Timeout extends Error {}

/**
 * Waits for `promise`, failing with a {@linkcode Timeout} naming `what` after `ms`
 * milliseconds. The timer is cleared either way, so the op sanitizer stays quiet.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Marks a promise as handled at once (so a rejection that comes while the test awaits
 * something else is not an unhandled rejection) and returns it, still rejecting, for a later
 * `settled`.
 */
export function later<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Waits until every promise has settled (within `ms`), and returns how each settled. */
export function settled<T = unknown>(
  promises: readonly Promise<T>[],
  ms: number,
  what: string,
): Promise<PromiseSettledResult<T>[]> {
  return within(Promise.allSettled(promises), ms, what);
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether two byte arrays are equal (memcmp, not a JS loop: the suite compares gigabytes). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.length).equals(
      Buffer.from(b.buffer, b.byteOffset, b.length),
    );
}

/** A pool of `length` pseudo-random bytes from `seed`; payloads are slices of it. */
export function bytePool(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  const words = new Uint32Array(out.buffer, 0, length >>> 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    // xorshift32: fast enough for tens of megabytes.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return out;
}

/** A pool of printable ASCII (letters, digits, a few JSON-safe marks), no CR or LF. */
export function textPool(length: number, seed: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_+=!?#";
  const rng = new Rng(seed);
  const parts: string[] = [];
  for (let i = 0; i < length; i++) parts.push(alphabet[rng.int(0, alphabet.length - 1)]);
  return parts.join("");
}

/** What a watched handle reported through `onError`. */
export interface Watch {
  /** Every error `onError` received, in order. */
  readonly errors: HandleError[];
  /** The options to make the handle with (your own plus the counting `onError`). */
  readonly options: HandleOptions;
}

/**
 * Options that record every error passed to `onError`, so a test can check that a handle
 * reported at most one, with a documented code.
 */
export function watch(options: HandleOptions = {}): Watch {
  const errors: HandleError[] = [];
  const own = options.onError;
  return {
    errors,
    options: {
      ...options,
      onError(h, err) {
        errors.push(err);
        own?.(h, err);
      },
    },
  };
}

/**
 * Asserts that a handle reported at most one error, a fatal `HandleError` with one of `codes`
 * (all documented), and that `h.error` is that error.
 */
export function assertAtMostOneError(
  h: Handle,
  errors: readonly HandleError[],
  codes: readonly HandleErrorCode[],
  what: string,
): void {
  assert.ok(errors.length <= 1, `${what}: ${errors.length} errors: ${describe(errors)}`);
  for (const err of errors) {
    assert.ok(err instanceof HandleError, `${what}: not a HandleError: ${err}`);
    assert.ok(DOCUMENTED_CODES.has(err.code), `${what}: undocumented code ${err.code}`);
    assert.ok(codes.includes(err.code), `${what}: ${err.code} (${err.message}), expected ${codes}`);
    assert.equal(err.fatal, true, `${what}: ${err.code} is not fatal`);
    assert.equal(h.error, err, `${what}: h.error is not the reported error`);
  }
}

/** A short description of errors, for assertion messages. */
export function describe(errors: readonly unknown[]): string {
  return errors.map((e) =>
    e instanceof HandleError ? `${e.code}${e.fatal ? "" : " (non-fatal)"}: ${e.message}` : String(e)
  ).join("; ");
}

/** The number of open file descriptors of this process, or `undefined` without `/proc`. */
export function openFds(): number | undefined {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
    return n - 1; // the directory being read is one of them
  } catch {
    return undefined;
  }
}

/**
 * Waits (up to `ms`) for the open file descriptors to fall back to `before`, and asserts they
 * did: no socket outlives its test. Deno closes a socket's fd when its last op completes, so
 * a closed handle's fd may linger for a moment. Without `/proc` this checks nothing: the test
 * runner's resource sanitizer still catches leaked Deno resources.
 */
export async function assertFdsBack(before: number | undefined, ms = 5000): Promise<void> {
  if (before === undefined) return;
  const deadline = Date.now() + ms;
  let now = openFds()!;
  while (now > before && Date.now() < deadline) {
    await sleep(10);
    now = openFds()!;
  }
  assert.ok(now <= before, `${now - before} file descriptors still open after the test`);
}

/** The soft limit on open files of this process (Linux `/proc`, else `sh -c "ulimit -n"`). */
export async function openFileLimit(): Promise<number> {
  try {
    const limits = Deno.readTextFileSync("/proc/self/limits");
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (m) return m[1] === "unlimited" ? Infinity : Number(m[1]);
  } catch { /* not Linux */ }
  const out = await new Deno.Command("sh", { args: ["-c", "ulimit -n"], stderr: "null" }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  return text === "unlimited" ? Infinity : Number(text);
}

/** Settles `h.closed` into the error it rejected with (or `undefined`), within `ms`. */
export async function closedWith(h: Handle, ms: number, what: string): Promise<unknown> {
  try {
    await within(h.closed, ms, `${what}: h.closed`);
    return undefined;
  } catch (e) {
    if (e instanceof Timeout) throw e;
    return e;
  }
}
