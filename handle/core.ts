/**
 * {@linkcode HandleCore}: the state of a handle and what its parts report to (errors,
 * teardown, timers, connection). `Handle` is the documented facade over it.
 *
 * @module
 */
import { HandleError } from "./errors.ts";
import type { Handle } from "./handle.ts";
import { callbackError, checkSize, type HandleCallback, type HandleOptions } from "./options.ts";
import { ReadSide } from "./reader.ts";
import type { ReadRequest } from "./read_request.ts";
import type { Transport } from "./transport.ts";
import { WriteSide } from "./writer.ts";
import { ConnectingTransport } from "./connect.ts";
import { type TimeoutKind, Timeouts } from "./timeouts.ts";
import { frameLimit } from "../codecs/limits.ts";
import type { TlsOptions } from "../tls/options.ts";
import { startTls } from "../tls/starttls.ts";

const cores = new WeakMap<object, HandleCore>();

/**
 * Links a handle to its internals (for the parts of the class defined in other modules).
 *
 * @param owner The handle.
 * @param core Its internals.
 */
export function registerCore(owner: object, core: HandleCore): void {
  cores.set(owner, core);
}

/**
 * The internals of a handle.
 *
 * @param owner The handle.
 * @returns Its internals.
 */
export function coreOf(owner: object): HandleCore {
  return cores.get(owner)!;
}

/** The internals of one handle. Not part of the public API. */
export class HandleCore {
  readonly owner: Handle;
  /** The transport; replaced by a TLS session when TLS starts. */
  transport: Transport;
  readonly reader: ReadSide;
  readonly writer: WriteSide;
  readonly timeouts: Timeouts;
  open = true;
  error: HandleError | undefined;
  onError: HandleOptions["onError"];
  onEof: HandleCallback | undefined;
  onRead: HandleCallback | undefined;
  onDrain: HandleCallback | undefined;
  onStarttls: HandleOptions["onStarttls"];
  onStoptls: HandleCallback | undefined;
  tlsOptions: TlsOptions | undefined;
  onTimeout: Record<TimeoutKind, HandleCallback | undefined>;
  noDelay = false;
  keepalive = false;
  readonly activeIo: Set<Promise<void>> = new Set();
  readonly closed: Promise<void>;
  settleClosed!: (err: HandleError | undefined) => void;

  constructor(owner: Handle, transport: Transport, options: HandleOptions) {
    this.owner = owner;
    this.transport = transport;
    this.onError = options.onError;
    this.onEof = options.onEof;
    this.onRead = options.onRead;
    this.onDrain = options.onDrain;
    this.onStarttls = options.onStarttls;
    this.onStoptls = options.onStoptls;
    this.tlsOptions = options.tlsOptions;
    // deno-lint-ignore no-this-alias
    const core = this;
    const host = {
      handle: owner,
      get transport() {
        return core.transport;
      },
      divert: (bytes: Uint8Array | null) => this.transport.feed?.(bytes),
      isOpen: () => this.open,
      onRead: () => this.onRead,
      onEof: () => this.onEof,
      onDrain: () => this.onDrain,
      fatal: (err: HandleError) => this.fatal(err),
      report: (err: HandleError) => this.report(err),
      track: (io: Promise<void>) => this.track(io),
      readActivity: () => this.timeouts.readActivity(),
      writeActivity: () => this.timeouts.writeActivity(),
    };
    this.timeouts = new Timeouts((kind) => this.timedOut(kind));
    this.onTimeout = {
      timeout: options.onTimeout,
      rtimeout: options.onRtimeout,
      wtimeout: options.onWtimeout,
    };
    this.reader = new ReadSide(
      host,
      checkSize("readSize", options.readSize, 2048, 1),
      checkSize("maxReadSize", options.maxReadSize, 131072, 1),
      checkSize("rbufMax", options.rbufMax, Infinity),
    );
    if (options.maxFrameLength !== undefined) {
      this.reader.maxFrameLength = frameLimit(options.maxFrameLength, Infinity);
    }
    this.writer = new WriteSide(
      host,
      checkSize("lowWaterMark", options.lowWaterMark, 0),
      checkSize("wbufMax", options.wbufMax, Infinity),
    );
    this.closed = new Promise<void>((resolve, reject) => {
      this.settleClosed = (err) => err ? reject(err) : resolve();
    });
    this.closed.catch(() => {});
    this.writer.autocork = options.autocork ?? false;
    this.noDelay = options.noDelay ?? false;
    this.keepalive = options.keepalive ?? false;
    for (const kind of ["timeout", "rtimeout", "wtimeout"] as const) {
      this.timeouts.set(kind, options[kind] ?? 0);
    }
    if (options.tls !== undefined) startTls(this, options.tls);
    if (!(transport instanceof ConnectingTransport)) this.connected();
    if (this.onDrain) this.writer.callDrain();
    this.reader.wantData();
  }
  enqueue(request: ReadRequest, atFront: boolean): void {
    if (!this.open) throw this.afterDestroyError("EPIPE");
    this.reader.enqueue(request, atFront);
  }

  queueWrite(bytes: Uint8Array, atFront: boolean): void {
    if (!this.open) throw this.afterDestroyError("EPIPE");
    this.writer.queue(bytes, atFront);
  }

  /** The connection exists: apply the socket options and start the timers. */
  connected(): void {
    if (this.noDelay) this.transport.setNoDelay?.(true);
    if (this.keepalive) this.transport.setKeepAlive?.(true);
    this.timeouts.start();
  }

  timedOut(kind: TimeoutKind): void {
    const cb = this.onTimeout[kind];
    if (cb === undefined) {
      this.report(
        new HandleError("ETIMEDOUT", `No activity for ${this.timeouts.get(kind)} s (${kind})`, {
          fatal: false,
        }),
      );
      return;
    }
    try {
      cb(this.owner);
    } catch (e) {
      this.fatal(callbackError(e, `on${kind[0].toUpperCase()}${kind.slice(1)}`));
    }
  }

  track(io: Promise<void>): void {
    this.activeIo.add(io);
    io.finally(() => this.activeIo.delete(io));
  }

  /** Reports a non-fatal error. */
  report(err: HandleError): void {
    if (this.onError === undefined) {
      console.error(`@anyevent/handle: ${err.code}: ${err.message}`);
      return;
    }
    try {
      this.onError(this.owner, err);
    } catch (e) {
      this.fatal(callbackError(e, "onError"));
    }
  }

  /** Reports a fatal error: to promise readers and onError, then destroys the handle. */
  fatal(err: HandleError): void {
    if (!this.open || this.error !== undefined) return;
    this.error = err;
    let seen = this.reader.failAll(err);
    if (this.onError !== undefined) {
      seen = true;
      try {
        this.onError(this.owner, err);
      } catch (e) {
        console.error(`@anyevent/handle: onError threw while reporting ${err.code}:`, e);
      }
    }
    if (!seen) console.error(`@anyevent/handle: uncaught ${err.code}: ${err.message}`);
    this.teardown(err);
  }

  afterDestroyError(code: "EPIPE" | "ECANCELED" = "ECANCELED"): HandleError {
    return this.error ?? new HandleError(code, "The handle is destroyed");
  }

  teardown(err: HandleError | undefined): void {
    if (!this.open) return;
    err ??= this.error; // destroy() called from onError while a fatal error is reported
    const reason = err ?? new HandleError("ECANCELED", "The handle was destroyed");
    this.reader.failAll(reason);
    this.open = false;
    this.timeouts.stop();
    this.writer.clear(reason);
    try {
      this.transport.close();
    } catch { /* already closed */ }
    Promise.allSettled([...this.activeIo]).then(() => this.settleClosed(err));
  }

  /** No address could be connected to: `onConnectError` if given, else a fatal error. */
  connectFailed(
    err: HandleError,
    onConnectError: ((h: Handle, err: HandleError) => void) | undefined,
  ): void {
    if (onConnectError === undefined) return this.fatal(err);
    this.error = err;
    try {
      onConnectError(this.owner, err);
    } catch (e) {
      console.error("@anyevent/handle: onConnectError threw:", e);
    }
    this.teardown(err);
  }
}
