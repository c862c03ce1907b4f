/**
 * Connecting in the background: a {@linkcode Transport} that exists before its connection,
 * so a handle can queue reads and writes at once.
 *
 * @module
 */
import { callbackError, HandleError, ioError } from "../base/errors.ts";
import type { Transport } from "../base/transport.ts";
import type { TlsOptions } from "../tls/options.ts";

/** Where to connect: a TCP host and port, or a Unix socket path. */
export type ConnectTarget = { hostname: string; port: number } | { path: string };

/** The connection callbacks of `Handle.connect`; each receives the handle first. */
export interface ConnectCallbacks<H> {
  /**
   * Called before each connection attempt. A number returned is that attempt's timeout in
   * seconds (0 or nothing: no timeout beyond the OS's).
   */
  onPrepare?: (h: H) => number | void;
  /**
   * Called once connected, with the numeric peer address. Calling `retry()` during this
   * callback drops this connection and tries the next address of the host.
   */
  onConnect?: (h: H, host: string, port: number, retry: () => void) => void;
  /**
   * Called when no address could be connected to; the handle is destroyed afterwards. Without
   * it, the failure is a fatal `HandleError` with the OS's code (`ECONNREFUSED`, `ENOENT`,
   * `ETIMEDOUT`, `EHOSTUNREACH`, ...), or `ENOTFOUND` when the host name does not resolve.
   * The message names what was tried: `host:port` (an IPv6 address in brackets, the name
   * after it when it was resolved), the socket path, or the name that did not resolve.
   */
  onConnectError?: (h: H, err: HandleError) => void;
  /** Aborts the connection attempts (and, once connected, nothing: destroy the handle). */
  signal?: AbortSignal;
}

/** What the connector reports to its handle. */
export interface ConnectHost<H> {
  /** The handle, passed to callbacks. */
  readonly handle: H;
  /** Whether the handle is still open. */
  isOpen(): boolean;
  /** The connection is up: apply socket options, start timers. */
  connected(conn: Deno.Conn): void;
  /**
   * No address worked: report to `onConnectError` if given (else as a fatal error) and
   * destroy the handle.
   */
  failed(err: HandleError, onConnectError: ((h: H, err: HandleError) => void) | undefined): void;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The special-use domain that never resolves (RFC 6761 6.4), with an optional final dot. */
const INVALID_DOMAIN = /(^|\.)invalid\.?$/i;

/**
 * The addresses to try for a host name, in order. A name the DNS does not know is left to
 * the OS (`/etc/hosts` and the like), whose failure is then `ENOTFOUND`.
 *
 * @throws {HandleError} `ENOTFOUND` at once for a name under `.invalid`, which RFC 6761 says
 * resolvers should fail without asking anyone (so it fails as fast offline).
 */
async function resolve(hostname: string, signal: AbortSignal): Promise<string[]> {
  if (IPV4.test(hostname) || hostname.includes(":")) return [hostname];
  if (hostname === "localhost") return ["127.0.0.1", "::1"];
  if (INVALID_DOMAIN.test(hostname)) {
    throw new HandleError(
      "ENOTFOUND",
      `Cannot resolve host name "${hostname}": the .invalid domain never resolves (RFC 6761)`,
    );
  }
  const found: string[] = [];
  for (const type of ["A", "AAAA"] as const) {
    try {
      found.push(...await Deno.resolveDns(hostname, type, { signal }));
    } catch { /* no such record, or no DNS: fall back below */ }
  }
  return found.length > 0 ? found : [hostname];
}

/** An address and port as messages name them: `1.2.3.4:80`, `[::1]:80`. */
function endpoint(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** What the attempts were made to, for messages: `host:port` (and the name), or the path. */
function describe(target: ConnectTarget, address: string): string {
  if ("path" in target) return target.path;
  const where = endpoint(address, target.port);
  return address === target.hostname ? where : `${where} (${target.hostname})`;
}

/**
 * Whether a connect attempt failed because the OS could not resolve the host name: Rust's
 * `getaddrinfo` failure ("failed to lookup address information: ..."), which Deno throws as a
 * plain `Error`, or a name that is not a valid host name at all (a `URIError`).
 */
function isLookupFailure(e: unknown): boolean {
  return e instanceof URIError ||
    (e instanceof Error && e.message.startsWith("failed to lookup address information"));
}

/** The error of one failed attempt to connect to `address`. */
function attemptError(e: unknown, target: ConnectTarget, address: string): HandleError {
  if (e instanceof HandleError) return e;
  if (!("path" in target) && isLookupFailure(e)) {
    const detail = (e as Error).message;
    return new HandleError(
      "ENOTFOUND",
      `Cannot resolve host name "${target.hostname}": ${detail}`,
      {
        cause: e,
      },
    );
  }
  return ioError(e, `connect to ${describe(target, address)}`);
}

/**
 * A transport whose connection is being made: reads and writes wait for it, in order, and
 * then go to the real connection.
 */
export class ConnectingTransport implements Transport {
  readonly #target: ConnectTarget;
  #conn: Deno.Conn | undefined;
  #ready: Promise<Deno.Conn>;
  #settle!: { resolve: (c: Deno.Conn) => void; reject: (e: unknown) => void };
  #abort = new AbortController();
  #closed = false;

  /**
   * The options of a handle that connects to `target`: its host name is the name TLS verifies
   * (AnyEvent's `peername` defaults to the host connected to), unless `tlsOptions` names one.
   *
   * @param target Where the handle connects.
   * @param options The handle's options.
   * @returns The options, with `tlsOptions.hostname` set if it was missing.
   */
  static peerNamed<O extends { tlsOptions?: TlsOptions }>(target: ConnectTarget, options: O): O {
    const tls = options.tlsOptions;
    if ("path" in target || tls?.hostname !== undefined || tls?.peername !== undefined) {
      return options;
    }
    return { ...options, tlsOptions: { ...tls, hostname: target.hostname } };
  }

  /**
   * @param target Where to connect (once `start` is called).
   */
  constructor(target: ConnectTarget) {
    this.#target = target;
    this.#ready = new Promise((resolve, reject) => this.#settle = { resolve, reject });
    this.#ready.catch(() => {});
  }

  /**
   * The TCP connection once made (TLS can start on it), or `undefined` for a Unix socket.
   * Rejects if no connection is made.
   */
  get tcpConnection(): Promise<Deno.TcpConn> | undefined {
    if ("path" in this.#target) return undefined;
    return this.#ready as Promise<Deno.TcpConn>;
  }

  /**
   * Connects, trying each address of the target in turn.
   *
   * @param callbacks The user's connection callbacks.
   * @param host The handle's side of the connection.
   */
  async start<H>(callbacks: ConnectCallbacks<H>, host: ConnectHost<H>): Promise<void> {
    const target = this.#target;
    const outer = callbacks.signal;
    const onOuterAbort = () => this.#abort.abort(outer!.reason);
    outer?.addEventListener("abort", onOuterAbort, { once: true });
    const named = "path" in target ? target.path : endpoint(target.hostname, target.port);
    let lastError = new HandleError("ECONNREFUSED", `Cannot connect to ${named}: no address`);
    try {
      if (outer?.aborted) throw new HandleError("ECANCELED", "Connecting was aborted");
      const addresses = "path" in target
        ? [target.path]
        : await resolve(target.hostname, this.#abort.signal);
      for (const address of addresses) {
        if (!host.isOpen()) return;
        const timeout = callbacks.onPrepare?.(host.handle);
        const seconds = typeof timeout === "number" && timeout > 0 ? timeout : 0;
        let conn: Deno.Conn;
        try {
          conn = await this.#attempt(target, address, seconds);
        } catch (e) {
          lastError = this.#abort.signal.aborted
            ? new HandleError("ECANCELED", "Connecting was aborted", { cause: e })
            : attemptError(e, target, address);
          if (lastError.code === "ECANCELED") break;
          continue;
        }
        if (!host.isOpen()) {
          conn.close();
          return;
        }
        let retried = false;
        if (callbacks.onConnect) {
          const peer = conn.remoteAddr as Deno.NetAddr;
          let inCallback = true;
          const retry = () => {
            if (!inCallback) throw new TypeError("Cannot retry() after onConnect has returned");
            retried = true;
          };
          try {
            callbacks.onConnect(host.handle, peer.hostname ?? address, peer.port ?? 0, retry);
          } catch (e) {
            conn.close();
            throw callbackError(e, "onConnect");
          } finally {
            inCallback = false;
          }
        }
        if (retried) {
          conn.close();
          lastError = new HandleError(
            "ECONNREFUSED",
            `Cannot connect to ${named}: every address was retried`,
          );
          continue;
        }
        this.#conn = conn;
        host.connected(conn);
        this.#settle.resolve(conn);
        return;
      }
      throw lastError;
    } catch (e) {
      const err = e instanceof HandleError ? e : ioError(e, "connect");
      this.#settle.reject(err);
      if (host.isOpen()) host.failed(err, callbacks.onConnectError);
    } finally {
      outer?.removeEventListener("abort", onOuterAbort);
    }
  }

  async #attempt(target: ConnectTarget, address: string, seconds: number): Promise<Deno.Conn> {
    if ("path" in target) return await Deno.connect({ transport: "unix", path: target.path });
    const signals = [this.#abort.signal];
    if (seconds > 0) signals.push(AbortSignal.timeout(seconds * 1000));
    const signal = AbortSignal.any(signals);
    try {
      return await Deno.connect({ hostname: address, port: target.port, signal });
    } catch (e) {
      if (signal.aborted && !this.#abort.signal.aborted) {
        throw new HandleError(
          "ETIMEDOUT",
          `Cannot connect to ${describe(target, address)}: timed out after ${seconds} s`,
          { cause: e },
        );
      }
      throw e;
    }
  }

  /** The connection, once made. */
  get conn(): Deno.Conn | undefined {
    return this.#conn;
  }

  async read(p: Uint8Array): Promise<number | null> {
    return await (this.#conn ?? await this.#ready).read(p);
  }

  async write(p: Uint8Array): Promise<number> {
    return await (this.#conn ?? await this.#ready).write(p);
  }

  async closeWrite(): Promise<void> {
    await (this.#conn ?? await this.#ready).closeWrite();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new HandleError("ECANCELED", "The handle was destroyed while connecting"));
    this.#settle.reject(new HandleError("ECANCELED", "The handle was destroyed while connecting"));
    this.#conn?.close();
  }

  setNoDelay(noDelay?: boolean): void {
    (this.#conn as Deno.TcpConn | undefined)?.setNoDelay?.(noDelay);
  }

  setKeepAlive(keepAlive?: boolean): void {
    (this.#conn as Deno.TcpConn | undefined)?.setKeepAlive?.(keepAlive);
  }
}
