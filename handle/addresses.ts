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

/**
 * A handle whose `remoteAddr` and `localAddr` are known to be of type `A`: what
 * `Handle.serve` passes to `onConnection` (`Deno.NetAddr` on a port) and what
 * `Handle.connect` returns (`Deno.NetAddr | undefined`: `undefined` until connected). It is a
 * handle in every other way, and may be passed as one.
 *
 * A connection callback declared apart, with this type for its parameter, is checked before
 * the listen options' type is known when those options hold callbacks with untyped
 * parameters (`onError: (h, err) => ...`); TypeScript then rejects it. Pass it on from an
 * arrow function instead: `Handle.serve(options, (h) => onClient(h))`.
 *
 * @typeParam H The handle type.
 * @typeParam A The type of the addresses.
 *
 * @example A served handle's peer port, typed
 * ```ts
 * import type { Addressed, Handle } from "@anyevent/handle";
 *
 * function port(h: Addressed<Handle, Deno.NetAddr>): number {
 *   return h.remoteAddr.port;
 * }
 * console.log(typeof port);
 * ```
 */
export type Addressed<H, A extends Deno.Addr | undefined> = H & {
  /** The peer's address. */
  readonly remoteAddr: A;
  /** This side's address. */
  readonly localAddr: A;
};
