/**
 * The address types of a connection, known from how it was made: a server listening on a TCP
 * port hands out handles whose `remoteAddr` is a `Deno.NetAddr`, one on a Unix socket path a
 * `Deno.UnixAddr`, so that neither needs a cast (`AddressedHandle`).
 *
 * @module
 */

/**
 * The address `Handle.serve` listens on (`server.addr`): a `Deno.UnixAddr` for `{ path }`, a
 * `Deno.NetAddr` for `{ hostname, port }`, and `Deno.Addr` when the options' type does not
 * say which (a `path` that may be `undefined`).
 *
 * @typeParam O The type of the listen options.
 *
 * @example Port or path, known from the options
 * ```ts
 * import type { ListenAddr } from "@anyevent/handle";
 *
 * const tcp: ListenAddr<{ port: number }> = { transport: "tcp", hostname: "::", port: 1 };
 * const unix: ListenAddr<{ path: string }> = { transport: "unix", path: "/tmp/s" };
 * void [tcp, unix];
 * ```
 */
export type ListenAddr<O> = "path" extends keyof O
  ? (O extends { path: string } ? Deno.UnixAddr : Deno.Addr)
  : Deno.NetAddr;

/**
 * The addresses of a connection `Handle.serve` accepted (`h.remoteAddr`, `h.localAddr`): those
 * of its listener, except that behind a PROXY header (`proxy: true`) a Unix socket's
 * connection reports the client's TCP address, so there it is `Deno.Addr`.
 *
 * @typeParam O The type of the listen options.
 */
export type ServedAddr<O> = ListenAddr<O> extends Deno.UnixAddr
  ? ("proxy" extends keyof O ? (O extends { proxy?: false } ? Deno.UnixAddr : Deno.Addr)
    : Deno.UnixAddr)
  : ListenAddr<O>;

/**
 * The addresses of a handle `Handle.connect` made, once connected: a `Deno.UnixAddr` for
 * `{ path }`, else a `Deno.NetAddr`.
 *
 * @typeParam T The type of the connect target.
 */
export type ConnectAddr<T> = T extends { path: string } ? Deno.UnixAddr : Deno.NetAddr;
