/**
 * The error type every failure of a {@linkcode Handle} is reported with.
 *
 * @module
 */

/**
 * Why a handle failed, named after the errno values AnyEvent::Handle sets.
 *
 * | code | meaning |
 * |---|---|
 * | `EPIPE` | end of input with a read still pending, or a write to a closed peer |
 * | `ENOSPC` | `rbufMax` or `wbufMax` exceeded |
 * | `EMSGSIZE` | a frame is longer than its `maxLength` |
 * | `EBADMSG` | a malformed frame |
 * | `ETIMEDOUT` | an inactivity timeout (non-fatal) |
 * | `EPROTO` | a TLS failure |
 * | `ECONNREFUSED`, `ECONNRESET`, `ENOENT`, `EHOSTUNREACH`, `ENOTCONN`, `EIO` | socket and I/O errors from the OS |
 * | `ENOTFOUND` | `Handle.connect`: the host name does not resolve (as Node names it); the message names it |
 * | `ECANCELED` | a pending promise read or drain after `destroy()` or an aborted signal |
 * | `ECALLBACK` | a callback or custom reader of yours threw; `cause` holds what it threw |
 * | `EINVAL` | a read type broke the decoder contract (a bug in that read type) |
 */
export type HandleErrorCode =
  | "EPIPE"
  | "ENOSPC"
  | "EMSGSIZE"
  | "EBADMSG"
  | "ETIMEDOUT"
  | "EPROTO"
  | "ECONNREFUSED"
  | "ECONNRESET"
  | "ENOENT"
  | "EHOSTUNREACH"
  | "ENOTCONN"
  | "ENOTFOUND"
  | "EIO"
  | "ECANCELED"
  | "ECALLBACK"
  | "EINVAL";

/** Options for {@linkcode HandleError}. */
export interface HandleErrorOptions {
  /**
   * Whether the handle is destroyed because of this error.
   *
   * @default {true}
   */
  fatal?: boolean;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Marks handle errors of every copy of the package (see `HandleError[Symbol.hasInstance]`). */
const BRAND = Symbol.for("@anyevent/handle.HandleError");

/**
 * A failure on a handle: a protocol violation, a limit, an I/O error or a cancellation.
 *
 * @example Inspecting a HandleError
 * ```ts
 * import { HandleError } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const err = new HandleError("EMSGSIZE", "Line exceeds maxLength of 8 bytes");
 * assert.equal(err.code, "EMSGSIZE");
 * assert.equal(err.fatal, true);
 * assert.ok(err instanceof Error);
 * ```
 */
export class HandleError extends Error {
  /**
   * Whether `value` is a `HandleError`, made by this copy of the package or another one (a
   * codec of one version thrown into a handle of another is still understood).
   *
   * @param value Anything.
   * @returns Whether it is a handle error.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null &&
      (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** The errno-style name of the failure. */
  readonly code: HandleErrorCode;
  /** Whether the handle was (or will be) destroyed because of this error. */
  readonly fatal: boolean;

  /**
   * Creates an error.
   *
   * @param code The errno-style name of the failure.
   * @param message What happened, in sentence case.
   * @param options Whether it is fatal, and its cause.
   */
  constructor(code: HandleErrorCode, message: string, options: HandleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HandleError";
    this.code = code;
    this.fatal = options.fatal ?? true;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

const DENO_ERROR_CODES: [new (...args: never[]) => Error, HandleErrorCode][] = [
  [Deno.errors.ConnectionRefused, "ECONNREFUSED"],
  [Deno.errors.ConnectionReset, "ECONNRESET"],
  [Deno.errors.ConnectionAborted, "ECONNRESET"],
  [Deno.errors.BrokenPipe, "EPIPE"],
  [Deno.errors.NotFound, "ENOENT"],
  [Deno.errors.NotConnected, "ENOTCONN"],
  [Deno.errors.TimedOut, "ETIMEDOUT"],
];

/**
 * Turns an error thrown by a Deno I/O call into a fatal {@linkcode HandleError}.
 *
 * @param cause What the I/O call threw.
 * @param action The attempted action, for the message ("read", "write", "connect").
 * @returns A fatal error whose `cause` is `cause`.
 *
 * @example Mapping a reset connection
 * ```ts
 * import { ioError } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const err = ioError(new Deno.errors.ConnectionReset("reset by peer"), "read");
 * assert.equal(err.code, "ECONNRESET");
 * assert.equal(err.message, "Cannot read: reset by peer");
 * // A socket closed under the handle reads as a reset, and writes as a broken pipe.
 * assert.equal(ioError(new Deno.errors.BadResource("closed"), "read").code, "ECONNRESET");
 * assert.equal(ioError(new Deno.errors.BadResource("closed"), "write").code, "EPIPE");
 * ```
 */
export function ioError(cause: unknown, action: string): HandleError {
  if (cause instanceof HandleError) return cause;
  let code: HandleErrorCode = "EIO";
  for (const [type, mapped] of DENO_ERROR_CODES) {
    if (cause instanceof type) {
      code = mapped;
      break;
    }
  }
  if (
    code === "EIO" &&
    (cause instanceof Deno.errors.BadResource || cause instanceof Deno.errors.Interrupted)
  ) {
    // The socket was closed under the handle (`conn.close()` elsewhere): to the handle, the
    // connection is gone as if reset, and writing to it is a broken pipe.
    code = action === "write" ? "EPIPE" : "ECONNRESET";
  }
  if (code === "EIO" && cause instanceof Error) {
    const errno = (cause as { code?: unknown }).code;
    if (typeof errno === "string" && /^(EHOSTUNREACH|ENETUNREACH)$/.test(errno)) {
      code = "EHOSTUNREACH";
    }
  }
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new HandleError(code, `Cannot ${action}: ${detail}`, { cause });
}

/**
 * Wraps what a callback threw.
 *
 * @param cause What it threw.
 * @param where Which callback, for the message.
 * @returns A fatal `ECALLBACK` error.
 */
export function callbackError(cause: unknown, where: string): HandleError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new HandleError("ECALLBACK", `${where} threw: ${detail}`, { cause });
}
