/**
 * {@linkcode HandleServer}: the accept loop of `Handle.serve`, with per-connection error
 * isolation, a connection limit, the PROXY protocol, graceful shutdown, and counters of what
 * the loop saw ({@linkcode ServeStats}).
 *
 * Connections that end before they have said anything are routine on any public port (load
 * balancer health checks, port scanners, clients that gave up): a connection the client reset
 * before `accept()` returned it is skipped at once, and one that closes or resets before
 * sending a byte is not reported as an error. Both are only counted. Accepting pauses (with
 * back-off, logged once) only when the process is out of file descriptors or memory, or
 * `accept()` fails in a way that is not about one connection.
 *
 * @module
 */
import { type NativeListenOptions, NativeTls } from "../tls/native_tls.ts";
import { callbackError, HandleError } from "../base/errors.ts";
import type { HandleOptionsFor } from "./options.ts";
import { proxy, type ProxyInfo } from "../codecs/proxy.ts";

/**
 * What `serve({ proxy: true })` passes as the second argument of `onConnection`: the PROXY
 * protocol header as the `proxy` read type decodes it (`ProxyInfo`), plus the socket's own
 * addresses (the balancer's).
 *
 * @typeParam A The type of the socket's addresses (`Deno.NetAddr` on a port).
 */
export type ServedProxyInfo<A extends Deno.Addr = Deno.Addr> =
  & ProxyInfo
  & {
    /** The addresses of the socket itself: the balancer's connection. */
    readonly socket: { readonly remoteAddr: A; readonly localAddr: A };
  };

/**
 * Where and how `Handle.serve` listens.
 *
 * @typeParam H The handle class (its callbacks receive it).
 */
export interface ServeOptions<H = unknown> {
  /**
   * The address to listen on (with `port`).
   *
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /** The TCP port (0: any free one; see `server.addr`). */
  port?: number;
  /** A Unix socket path, instead of `hostname` and `port`. */
  path?: string;
  /**
   * `SO_REUSEPORT` (Linux): several processes may listen on the same port, and the kernel
   * spreads the connections over them. Deno 2.9 counts it as unstable: run with
   * `--unstable-net` (without it, `Deno.listen` ends the process); `examples/workers.ts` shows
   * how.
   *
   * @default {false}
   */
  reusePort?: boolean;
  /** Aborting it is `shutdown()`. */
  signal?: AbortSignal;
  /**
   * The most connections open at once; one over it is closed at once, without calling
   * `onConnection`.
   *
   * @default {Infinity}
   */
  maxConnections?: number;
  /**
   * Every connection starts with a PROXY protocol v1 or v2 header (from HAProxy, NGINX or a
   * cloud balancer): it is read before `onConnection`, whose second argument it becomes, and
   * `h.remoteAddr` / `h.localAddr` then report the client's addresses from it. A connection
   * with a bad header, or none within `proxyTimeout`, is closed and never reaches
   * `onConnection`; its handle's `onError` is told why: `EBADMSG` from the `proxy` read type,
   * or a fatal `ETIMEDOUT` (without `onError`, stderr). One that closes before sending a byte
   * is only counted (`stats.closedWithoutData`).
   *
   * @default {false}
   */
  proxy?: boolean;
  /**
   * Seconds to wait for the PROXY header.
   *
   * @default {10}
   */
  proxyTimeout?: number;
  /**
   * The options of every connection's handle: callbacks, limits, timeouts, and
   * `tls: "accept"` with `tlsOptions` to serve TLS from the first byte.
   */
  handle?: HandleOptionsFor<H>;
  /**
   * With `handle.tls: "accept"`: let Deno run the TLS sessions (`Deno.listenTls`, rustls
   * under the socket, `sni` through Deno's certificate resolver), which moves bytes about
   * twice as fast as the `node:tls` layer (see the README's TLS figures).
   *
   * Off by default because of a limit of Deno 2.9 (its `rustls-tokio-stream`): a connection
   * closed before the client's ClientHello arrived, by a timeout or `destroy()`, keeps its
   * socket open inside Deno until the client sends something or leaves. A client that
   * connects and stays silent (a slowloris) so holds a file descriptor that no count shows.
   * Behind a load balancer whose health checks close their connections, that is harmless;
   * facing the Internet, leave it off. It is not used (the layer serves) with `proxy`, a
   * `path`, `requireClientCert`, an `sni` table without a default certificate, or
   * `onStoptls`, which only the layer can do.
   *
   * @default {false}
   */
  nativeTls?: boolean;
}

/** What the server needs of the handle class (the class itself, passed in by `Handle.serve`). */
export interface ServedHandle {
  /** Destroys the handle. */
  destroy(): void;
  /** Seconds a destroy keeps flushing. */
  linger: number;
  /** Settles when the handle is closed. */
  readonly closed: Promise<void>;
  /** The connection's error callback. */
  readonly onError: HandleOptionsFor<never>["onError"];
  /** Whether the handle is destroyed. */
  readonly destroyed: boolean;
  /** Reads one value of a read type. */
  read(type: typeof proxy): Promise<ProxyInfo>;
  /** The read buffer: how many bytes arrived so far is `consumedTotal + length`. */
  readonly rbuf: { readonly consumedTotal: number; readonly length: number };
  /** The fatal error that destroyed the handle, if any. */
  readonly error: HandleError | undefined;
  /** Bytes read so far. */
  readonly bytesRead: number;
  /** Bytes written so far. */
  readonly bytesWritten: number;
}

/**
 * What the server may do to its handles beyond their public API (given by `Handle.serve`).
 *
 * @typeParam H The handle class.
 */
export interface ServeHooks<H> {
  /**
   * Listen with `Deno.listenTls` and these options: Deno runs every session natively, and
   * `make` is handed each `Deno.TlsConn` as a {@linkcode NativeTls}.
   */
  readonly listenTls?: NativeListenOptions;
  /** Wraps an accepted conn in a handle. */
  make(conn: Deno.Conn | NativeTls): H;
  /** Makes a handle report the addresses of a PROXY header. */
  setAddresses(h: H, remote: Deno.Addr | undefined, local: Deno.Addr | undefined): void;
  /**
   * Gives a handle the test for a fatal error that is not to be reported (the peer left
   * before sending anything).
   */
  setQuietEnd(h: H, quiet: (err: HandleError) => boolean): void;
  /** Who heard of the handle's fatal error so far (see `HandleCore.errorFate`). */
  errorFate(h: H): "reported" | "received" | "quiet" | undefined;
  /** Reports the handle's fatal error on stderr, the one report it gets. */
  reportUncaught(h: H, err: HandleError): void;
}

/**
 * What a {@linkcode HandleServer}'s accept loop has seen since it started (`server.stats`).
 * Every connection the kernel completed is counted once in `accepted` or `resetBeforeAccept`.
 */
export interface ServeStats {
  /** Connections `accept()` returned: each became a handle, or was closed for `overLimit`. */
  readonly accepted: number;
  /**
   * Connections the client reset or aborted before `accept()` returned them (ECONNRESET,
   * ECONNABORTED, ENOTCONN, or another network error pending on the new socket, which Linux
   * reports from `accept()`). Routine: health checks and scanners do it. Nothing is logged.
   */
  readonly resetBeforeAccept: number;
  /** Accepted connections closed at once because `maxConnections` were open. */
  readonly overLimit: number;
  /**
   * Accepted connections that closed without the client sending a byte (after the PROXY
   * header, with `proxy: true`; of application data, under TLS). If such a connection ends in
   * EOF, ECONNRESET or EPIPE, that is not passed to `onError` nor logged (a promise read
   * pending on it still rejects).
   */
  readonly closedWithoutData: number;
  /**
   * `accept()` failures that are not about one connection: out of file descriptors (EMFILE,
   * ENFILE), out of memory (ENOBUFS, ENOMEM), or unexpected ones. Each pauses accepting
   * briefly, with back-off; each run of them is logged once.
   */
  readonly acceptErrors: number;
  /** Bytes read from every connection so far, the open ones included (`h.bytesRead`). */
  readonly bytesIn: number;
  /** Bytes written to every connection so far, the open ones included (`h.bytesWritten`). */
  readonly bytesOut: number;
  /**
   * The fatal errors that ended connections, by code (`{ EMSGSIZE: 2, ETIMEDOUT: 5 }`); a
   * client leaving before it sent anything is not one (see `closedWithoutData`).
   */
  readonly errors: Readonly<Record<string, number>>;
}

/**
 * A running server: its address, how many connections are open, and how to stop it.
 *
 * @typeParam H The handle class.
 * @typeParam A The type of the address listened on (`Deno.NetAddr` on a port).
 */
export class HandleServer<H extends ServedHandle = ServedHandle, A extends Deno.Addr = Deno.Addr> {
  readonly #listener: Deno.Listener;
  readonly #open = new Set<H>();
  readonly #stopping = new AbortController();
  readonly #finished: Promise<void>;
  #shutdown: Promise<void> | undefined;
  readonly #stats = {
    accepted: 0,
    resetBeforeAccept: 0,
    overLimit: 0,
    closedWithoutData: 0,
    acceptErrors: 0,
    /** Bytes of the connections already closed (the open ones are added when asked). */
    bytesIn: 0,
    bytesOut: 0,
  };
  readonly #errors: Record<string, number> = {};
  /** Milliseconds of the current accept back-off; 0 while `accept()` works. */
  #backoff = 0;
  /** The error codes logged since `accept()` last worked: each run of failures logs once. */
  readonly #logged = new Set<string>();

  /**
   * Starts accepting. Use `Handle.serve`, which makes this.
   *
   * @param options Where to listen and how.
   * @param onConnection Called once per connection.
   * @param hooks What the server does to its handles beyond their public API.
   */
  constructor(
    options: ServeOptions<H>,
    onConnection: (h: H, proxy?: ServedProxyInfo<A>) => void | Promise<void>,
    hooks: ServeHooks<H>,
  ) {
    const limit = options.maxConnections ?? Infinity;
    if (!(limit >= 0)) {
      throw new RangeError(`Cannot serve with maxConnections "${limit}": expected a number >= 0`);
    }
    const proxyTimeout = options.proxyTimeout ?? 10;
    if (!(proxyTimeout > 0)) {
      throw new RangeError(
        `Cannot serve with proxyTimeout "${proxyTimeout}": expected seconds > 0`,
      );
    }
    const where = {
      hostname: options.hostname,
      port: options.port ?? 0,
      reusePort: options.reusePort,
    } as Deno.TcpListenOptions;
    const listener = this.#listener = options.path !== undefined
      ? Deno.listen({ transport: "unix", path: options.path })
      : hooks.listenTls !== undefined
      ? Deno.listenTls({ ...where, ...hooks.listenTls })
      : Deno.listen(where);
    const signal = options.signal;
    const onAbort = () => void this.shutdown();
    if (signal?.aborted) queueMicrotask(onAbort);
    else signal?.addEventListener("abort", onAbort, { once: true });
    const stats = this.#stats;
    const native = hooks.listenTls !== undefined;
    let makeFailed = false;
    const serveOne = async (conn: Deno.Conn) => {
      let h: H;
      try {
        h = hooks.make(native ? new NativeTls(conn as Deno.TlsConn, () => conn) : conn);
      } catch (e) {
        // Bad handle options (a negative readSize, say): every connection would fail alike.
        conn.close();
        if (!makeFailed) {
          makeFailed = true;
          console.error(
            `@anyevent/handle: serve: cannot make a handle (${e}); closing every connection ` +
              "while this goes on, logged once",
          );
        }
        return;
      }
      this.#open.add(h);
      // Where the client's data starts: after the PROXY header, once it has been read.
      let dataFrom = 0;
      const silent = () => h.rbuf.consumedTotal + h.rbuf.length === dataFrom;
      hooks.setQuietEnd(h, (err) => QUIET_END.has(err.code) && silent());
      h.closed.catch(() => {}).finally(() => {
        this.#open.delete(h);
        stats.bytesIn += h.bytesRead;
        stats.bytesOut += h.bytesWritten;
        if (silent()) stats.closedWithoutData++;
        const err = h.error;
        if (err !== undefined && hooks.errorFate(h) !== "quiet") {
          this.#errors[err.code] = (this.#errors[err.code] ?? 0) + 1;
        }
      });
      try {
        let info: ServedProxyInfo<A> | undefined;
        if (options.proxy) {
          info = await readProxy<A>(h, conn, proxyTimeout, (err) => report(h, err));
          if (info === undefined) return;
          dataFrom = h.rbuf.consumedTotal;
          hooks.setAddresses(h, netAddr(info.source), netAddr(info.destination));
        }
        const handled = onConnection(h, info);
        // An async handler owns its connection: when it settles, the connection ends (what is
        // queued still leaves, see linger). A callback-style handler returns nothing and keeps
        // the handle open through its callbacks.
        if (handled instanceof Promise) {
          await handled;
          h.destroy();
        }
      } catch (e) {
        const err = h.error;
        if (err !== undefined && (e === err || (e instanceof HandleError && e.code === err.code))) {
          // The handle's own fatal error, passed up through a promise read: report it now
          // unless onError or stderr already had it (or it is a silent client leaving).
          if (hooks.errorFate(h) === "received") hooks.reportUncaught(h, err);
          return;
        }
        // A read or write refused because the handle was destroyed on purpose (by the handler,
        // or shutdown) is the handler stopping, not a new error.
        if (h.destroyed && err === undefined && e instanceof HandleError) return;
        report(h, e instanceof HandleError && !e.fatal ? e : callbackError(e, "onConnection"));
        h.destroy();
      }
    };
    this.#finished = (async () => {
      try {
        for (;;) {
          let conn: Deno.Conn;
          try {
            conn = await listener.accept();
          } catch (e) {
            if (this.#stopping.signal.aborted || e instanceof Deno.errors.BadResource) break;
            const code = errorCode(e);
            if (code !== undefined && ONE_CONNECTION.has(code)) {
              stats.resetBeforeAccept++; // the client gave up: on to the next one, at once
              continue;
            }
            stats.acceptErrors++;
            await this.#backOff(e, code);
            continue;
          }
          stats.accepted++;
          if (this.#backoff > 0) {
            this.#backoff = 0;
            this.#logged.clear();
          }
          if (this.#open.size >= limit) {
            stats.overLimit++;
            conn.close();
            continue;
          }
          serveOne(conn);
        }
      } finally {
        signal?.removeEventListener("abort", onAbort);
        this.#stopping.abort();
      }
      while (this.#open.size > 0) await Promise.allSettled([...this.#open].map((h) => h.closed));
    })();
  }

  /**
   * `accept()` failed for a reason that is not one connection's: say so once per run of
   * failures, then wait (5 ms, doubling up to 1 s while it goes on) rather than spin. Out of
   * file descriptors, the connections waiting in the backlog are accepted once some close.
   */
  async #backOff(e: unknown, code: string | undefined): Promise<void> {
    const key = code ?? (e instanceof Error ? e.name : "unknown");
    if (!this.#logged.has(key)) {
      this.#logged.add(key);
      const detail = e instanceof Error ? e.message : String(e);
      const what = code !== undefined && OUT_OF_RESOURCES.has(code)
        ? `out of ${code === "EMFILE" || code === "ENFILE" ? "file descriptors" : "memory"}`
        : "unexpected error";
      console.error(
        `@anyevent/handle: serve: cannot accept connections (${what}: ${detail}${
          code === undefined ? "" : `, ${code}`
        }); retrying with back-off up to 1 s, logged once until accepting works again`,
      );
    }
    this.#backoff = Math.min(Math.max(5, this.#backoff * 2), 1000);
    await new Promise<void>((resolve) => {
      const stop = this.#stopping.signal;
      const done = () => {
        clearTimeout(timer);
        stop.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, this.#backoff);
      stop.addEventListener("abort", done);
    });
  }

  /**
   * What the accept loop has seen so far (a snapshot: read it again for newer numbers). See
   * {@linkcode ServeStats}.
   *
   * @example Counting connections
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, (h) => h.destroy());
   * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
   * assert.equal(await conn.read(new Uint8Array(1)), null); // closed by the server
   * conn.close();
   * await server.shutdown(1);
   * assert.equal(server.stats.accepted, 1);
   * assert.equal(server.stats.closedWithoutData, 1);
   * ```
   */
  get stats(): ServeStats {
    const stats = { ...this.#stats, errors: Object.freeze({ ...this.#errors }) };
    for (const h of this.#open) {
      stats.bytesIn += h.bytesRead;
      stats.bytesOut += h.bytesWritten;
    }
    return Object.freeze(stats);
  }

  /**
   * The handles of the connections open now, live (a handle leaves the set once it is
   * closed): to broadcast, or to look at every connection.
   *
   * @example Broadcasting a line to every client
   * ```ts
   * import { Handle } from "@anyevent/handle";
   * import assert from "node:assert/strict";
   *
   * const server = Handle.serve({ hostname: "127.0.0.1", port: 0 }, () => {});
   * const { port } = server.addr as Deno.NetAddr;
   * const clients = [0, 1].map(() => Handle.connect({ hostname: "127.0.0.1", port }));
   * while (server.handles.size < 2) await new Promise((r) => setTimeout(r, 5));
   * for (const h of server.handles) h.pushWrite("news\n");
   * for (const c of clients) assert.equal(await c.read("line"), "news");
   * for (const c of clients) c.destroy();
   * await server.shutdown(1);
   * ```
   */
  get handles(): ReadonlySet<H> {
    return this.#open;
  }

  /** The address listened on (with the port chosen for port 0). */
  get addr(): A {
    return this.#listener.addr as A;
  }

  /** The connections open now. */
  get connections(): number {
    return this.#open.size;
  }

  /** Aborted when `shutdown()` starts: connections may use it to finish what they are doing. */
  get signal(): AbortSignal {
    return this.#stopping.signal;
  }

  /** Settles when the server has stopped accepting and every connection's handle is closed. */
  get finished(): Promise<void> {
    return this.#finished;
  }

  /**
   * Stops accepting now, waits for the open connections to close, for up to `gracePeriod`
   * seconds, then destroys those left (dropping what they had queued).
   *
   * @param gracePeriod Seconds to wait for connections to close by themselves.
   * @returns Resolves once everything is closed.
   */
  shutdown(gracePeriod = 30): Promise<void> {
    if (this.#shutdown !== undefined) return this.#shutdown;
    this.#stopping.abort();
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    this.#shutdown = (async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, gracePeriod) * 1000);
      });
      await Promise.race([this.#finished, graceOver]);
      clearTimeout(timer);
      for (const h of this.#open) {
        h.linger = 0;
        h.destroy();
      }
      await this.#finished;
    })();
    return this.#shutdown;
  }

  /** `await using server = Handle.serve(...)`: shuts it down. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

function netAddr(a: ProxyInfo["source"]): Deno.NetAddr | undefined {
  return a === undefined ? undefined : { transport: "tcp", hostname: a.hostname, port: a.port };
}

/**
 * The error codes of a handle's end that are the peer leaving: not worth a report when it
 * left before sending anything.
 */
const QUIET_END = new Set(["EPIPE", "ECONNRESET", "ENOTCONN"]);

/**
 * `accept()` errors about the one connection being accepted, not the listener: the client
 * reset or aborted it while it waited in the backlog (Deno: ConnectionReset, ConnectionAborted,
 * NotConnected), or, on Linux, a network error already pending on the new socket or a
 * firewall rule refusing it (accept(2) says to treat those like EAGAIN).
 */
const ONE_CONNECTION = new Set([
  "ECONNRESET",
  "ECONNABORTED",
  "ENOTCONN",
  "ENETDOWN",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EHOSTUNREACH",
  "ENONET",
  "EPROTO",
  "ENOPROTOOPT",
  "EOPNOTSUPP",
  "EPERM",
]);

/** `accept()` errors that pass once connections close: worth backing off for. */
const OUT_OF_RESOURCES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

const DENO_CODES: [new (...args: never[]) => Error, string][] = [
  [Deno.errors.ConnectionReset, "ECONNRESET"],
  [Deno.errors.ConnectionAborted, "ECONNABORTED"],
  [Deno.errors.NotConnected, "ENOTCONN"],
];

/** The errno name of what a Deno I/O call threw: its `code`, else from its class. */
function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && code !== "") return code;
  for (const [type, name] of DENO_CODES) if (e instanceof type) return name;
  return undefined;
}

/** Tells a connection's `onError` (else stderr) about what ended it. */
function report(h: ServedHandle, err: HandleError): void {
  try {
    if (h.onError) h.onError(h as never, err);
    else console.error(`@anyevent/handle: serve: ${err.message}`);
  } catch (thrown) {
    console.error("@anyevent/handle: serve: onError threw:", thrown);
  }
}

/**
 * Reads the PROXY header; `undefined` (and the handle destroyed) if there is no good one. No
 * header within the time is reported as a fatal `ETIMEDOUT`; a bad one, as the `proxy` read
 * type failed (`EBADMSG`), by the handle itself.
 */
async function readProxy<A extends Deno.Addr>(
  h: ServedHandle,
  conn: Deno.Conn,
  timeoutSeconds: number,
  onTimeout: (err: HandleError) => void,
): Promise<ServedProxyInfo<A> | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutSeconds * 1000);
  });
  try {
    const info = await Promise.race([h.read(proxy), late]);
    if (info === undefined) {
      onTimeout(
        new HandleError("ETIMEDOUT", `No PROXY protocol header within ${timeoutSeconds} s`),
      );
      h.linger = 0;
      h.destroy();
      return undefined;
    }
    // The listener's kind fixes the socket's address type (A).
    const socket = { remoteAddr: conn.remoteAddr as A, localAddr: conn.localAddr as A };
    return { ...info, socket };
  } catch {
    h.linger = 0;
    h.destroy(); // a bad header: EBADMSG; the connection never reaches onConnection
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
