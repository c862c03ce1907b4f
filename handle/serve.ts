/**
 * {@linkcode HandleServer}: the accept loop of `Handle.serve`, with per-connection error
 * isolation, a connection limit, the PROXY protocol, and graceful shutdown.
 *
 * @module
 */
import { callbackError, HandleError } from "../base/errors.ts";
import type { HandleOptionsFor } from "./options.ts";
import { proxy, type ProxyInfo } from "../codecs/proxy.ts";

/**
 * What `serve({ proxy: true })` passes as the second argument of `onConnection`: the PROXY
 * protocol header as the `proxy` read type decodes it (`ProxyInfo`), plus the socket's own
 * addresses (the balancer's).
 */
export type ServedProxyInfo =
  & ProxyInfo
  & {
    /** The addresses of the socket itself: the balancer's connection. */
    readonly socket: { readonly remoteAddr: Deno.Addr; readonly localAddr: Deno.Addr };
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
   * `onConnection`. Needs the `proxy` read type (`mod.ts` registers it).
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
}

/**
 * A running server: its address, how many connections are open, and how to stop it.
 *
 * @typeParam H The handle class.
 */
export class HandleServer<H extends ServedHandle = ServedHandle> {
  readonly #listener: Deno.Listener;
  readonly #open = new Set<H>();
  readonly #stopping = new AbortController();
  readonly #finished: Promise<void>;
  #shutdown: Promise<void> | undefined;

  /**
   * Starts accepting. Use `Handle.serve`, which makes this.
   *
   * @param options Where to listen and how.
   * @param make Wraps an accepted conn in a handle.
   * @param onConnection Called once per connection.
   * @param setAddresses Makes a handle report the addresses of a PROXY header.
   */
  constructor(
    options: ServeOptions<H>,
    make: (conn: Deno.Conn) => H,
    onConnection: (h: H, proxy?: ServedProxyInfo) => void | Promise<void>,
    setAddresses: (h: H, remote: Deno.Addr | undefined, local: Deno.Addr | undefined) => void,
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
    const listener = this.#listener = options.path !== undefined
      ? Deno.listen({ transport: "unix", path: options.path })
      : Deno.listen({
        hostname: options.hostname,
        port: options.port ?? 0,
        reusePort: options.reusePort,
      } as Deno.TcpListenOptions);
    const signal = options.signal;
    const onAbort = () => void this.shutdown();
    if (signal?.aborted) queueMicrotask(onAbort);
    else signal?.addEventListener("abort", onAbort, { once: true });
    const serveOne = async (conn: Deno.Conn) => {
      const h = make(conn);
      this.#open.add(h);
      h.closed.catch(() => {}).finally(() => this.#open.delete(h));
      try {
        let info: ServedProxyInfo | undefined;
        if (options.proxy) {
          info = await readProxy(h, conn, proxyTimeout);
          if (info === undefined) return;
          const header = info as unknown as ProxyAddresses;
          setAddresses(h, netAddr(header.source), netAddr(header.destination));
        }
        await onConnection(h, info);
      } catch (e) {
        if (h.destroyed) return;
        const err = e instanceof HandleError && !e.fatal ? e : callbackError(e, "onConnection");
        try {
          if (h.onError) h.onError(h as never, err);
          else console.error(`@anyevent/handle: serve: ${err.message}`);
        } catch (thrown) {
          console.error("@anyevent/handle: serve: onError threw:", thrown);
        }
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
            // Out of file descriptors and the like: wait a little rather than spin.
            console.error("@anyevent/handle: serve: accept failed:", e);
            await new Promise((resolve) => setTimeout(resolve, 50));
            continue;
          }
          if (this.#open.size >= limit) {
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

  /** The address listened on (with the port chosen for port 0). */
  get addr(): Deno.Addr {
    return this.#listener.addr;
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

interface ProxyAddresses {
  readonly source?: { readonly hostname: string; readonly port: number };
  readonly destination?: { readonly hostname: string; readonly port: number };
}

function netAddr(a: ProxyAddresses["source"]): Deno.NetAddr | undefined {
  return a === undefined ? undefined : { transport: "tcp", hostname: a.hostname, port: a.port };
}

/** Reads the PROXY header; `undefined` (and the handle destroyed) if there is no good one. */
async function readProxy(
  h: ServedHandle,
  conn: Deno.Conn,
  timeoutSeconds: number,
): Promise<ServedProxyInfo | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutSeconds * 1000);
  });
  try {
    const info = await Promise.race([h.read(proxy), late]);
    if (info === undefined) {
      h.linger = 0;
      h.destroy();
      return undefined;
    }
    const socket = { remoteAddr: conn.remoteAddr, localAddr: conn.localAddr };
    return { ...info, socket };
  } catch {
    h.linger = 0;
    h.destroy(); // a bad header: EBADMSG; the connection never reaches onConnection
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
