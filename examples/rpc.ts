/**
 * A small RPC protocol over netstrings, server and client in one file.
 *
 *     deno run --allow-net examples/rpc.ts demo                    # both, in one process
 *     deno run --allow-net examples/rpc.ts server [port]           # 127.0.0.1, default 7001
 *     deno run --allow-net examples/rpc.ts client port method [params as JSON]
 *
 * Each request is a netstring holding a JSON object, each reply too:
 *
 * ```text
 * -> 40:{"id":1,"method":"add","params":[1,2,3]},
 * <- 19:{"id":1,"result":6},
 * -> 38:{"id":2,"method":"nope","params":null},
 * <- 42:{"id":2,"error":"Unknown method \"nope\""},
 * ```
 *
 * Methods: `add` (an array of numbers: their sum), `echo` (the params back), `sleep` (a number
 * of milliseconds up to 10000: waits that long, then answers with it). The server
 * ({@linkcode startRpcServer}, on `Handle.serve`) runs the requests of a connection
 * concurrently and answers each as soon as it is done, so replies may come back in another
 * order than the requests; the client ({@linkcode RpcClient}) pipelines its calls on one
 * connection and matches replies to calls by `id`. The demo sends five requests in one write,
 * two of them `sleep`s, and prints the replies in the order they arrive: the quick ones
 * first.
 *
 * A request that is not a JSON object with an `id` gets the reply `{ "id": null, "error" }`
 * and the connection goes on; a request over 64 KiB, or one that is not a netstring, closes
 * it.
 *
 * @module
 */
import { Handle, type HandleServer } from "../mod.ts";

/** The id of a request: chosen by the client, echoed in the reply. */
export type RpcId = number | string;

/** A request, as sent in a netstring. */
export interface RpcRequest {
  /** Matches the reply to the request. */
  id: RpcId;
  /** `"add"`, `"echo"` or `"sleep"`. */
  method: string;
  /** The method's argument. */
  params?: unknown;
}

/** A reply: `result` on success, `error` (a message) otherwise. */
export type RpcReply =
  | { id: RpcId | null; result: unknown }
  | { id: RpcId | null; error: string };

/** What a call rejects with when the server answers with `error`. */
export class RpcError extends Error {
  /**
   * Makes the error of a failed call.
   *
   * @param message The server's message.
   */
  constructor(message: string) {
    super(message);
    this.name = "RpcError";
  }
}

/** The largest request the server accepts, in bytes (the client takes replies of twice that). */
const MAX_FRAME = 64 * 1024;

/** The longest `sleep`, in milliseconds. */
const MAX_SLEEP = 10_000;

/** The methods: each takes the params and returns the result, or throws an RpcError. */
const METHODS: Record<string, (params: unknown, stop: AbortSignal) => unknown> = {
  add(params) {
    if (!Array.isArray(params) || !params.every((x) => typeof x === "number")) {
      throw new RpcError("add expects an array of numbers");
    }
    return params.reduce((sum: number, x: number) => sum + x, 0);
  },
  echo: (params) => params,
  sleep(params, stop) {
    const ms = params;
    if (typeof ms !== "number" || !(ms >= 0 && ms <= MAX_SLEEP)) {
      throw new RpcError(`sleep expects milliseconds from 0 to ${MAX_SLEEP}`);
    }
    if (stop.aborted) throw new RpcError("The server is shutting down");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop.removeEventListener("abort", onStop);
        resolve(ms);
      }, ms);
      const onStop = () => {
        clearTimeout(timer);
        reject(new RpcError("The server is shutting down"));
      };
      stop.addEventListener("abort", onStop, { once: true });
    });
  },
};

/** Runs one request to its reply; never throws. */
async function answer(frame: Uint8Array, stop: AbortSignal): Promise<RpcReply> {
  let request: Partial<RpcRequest>;
  try {
    request = JSON.parse(new TextDecoder().decode(frame));
  } catch {
    return { id: null, error: "The request is not JSON" };
  }
  const id = request?.id;
  if (typeof id !== "number" && typeof id !== "string") {
    return { id: null, error: "The request has no id (a number or a string)" };
  }
  const method = typeof request.method === "string" && Object.hasOwn(METHODS, request.method)
    ? METHODS[request.method]
    : undefined;
  if (method === undefined) {
    return { id, error: `Unknown method ${JSON.stringify(request.method)}` };
  }
  try {
    return { id, result: await method(request.params ?? null, stop) };
  } catch (e) {
    return { id, error: e instanceof RpcError ? e.message : `Internal error: ${e}` };
  }
}

/** Options for {@linkcode startRpcServer}. */
export interface RpcServerOptions {
  /**
   * The address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port; 0 picks a free one (read it back from `server.addr`).
   *
   * @default {0}
   */
  port?: number;
}

/**
 * Starts the RPC server: one handle per connection, its requests run concurrently, each reply
 * written as soon as it is ready. At the end of a client's input the replies still due are
 * sent, then the connection closes. `shutdown()` cuts pending `sleep`s short with an error.
 *
 * @param options Where to listen.
 * @returns The running server.
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 */
export function startRpcServer(options: RpcServerOptions = {}): HandleServer<Handle, Deno.NetAddr> {
  const server: HandleServer<Handle, Deno.NetAddr> = Handle.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    handle: { noDelay: true, onError: () => {} }, // a broken client closes only its connection
  }, async (h) => {
    const due = new Set<Promise<void>>();
    for await (const frame of h.iterate("netstring", { maxLength: MAX_FRAME })) {
      const reply = answer(frame, server.signal).then((reply) => {
        if (!h.destroyed) h.pushWrite("netstring", JSON.stringify(reply));
      });
      due.add(reply);
      reply.finally(() => due.delete(reply));
    }
    await Promise.all(due);
    h.destroy(); // the replies still queued leave first
  });
  return server;
}

/** A connection to the RPC server, with calls pipelined on it. */
export class RpcClient {
  readonly #h: Handle;
  readonly #pending = new Map<RpcId, PromiseWithResolvers<unknown>>();
  readonly #reading: Promise<void>;
  #nextId = 1;
  #closing: Promise<void> | undefined;

  /**
   * Makes a client over a handle connected to the server (see {@linkcode RpcClient.connect}).
   *
   * @param h The connection.
   */
  constructor(h: Handle) {
    this.#h = h;
    this.#reading = this.#read();
  }

  /**
   * Connects to a server.
   *
   * @param port Its port.
   * @param hostname Its address.
   * @returns The client; calls may be made at once, before the connection is up.
   */
  static connect(port: number, hostname = "127.0.0.1"): RpcClient {
    return new RpcClient(Handle.connect({ hostname, port }, { noDelay: true, onError: () => {} }));
  }

  /**
   * Sends a request without waiting for the replies to earlier ones.
   *
   * @param method The method's name.
   * @param params Its argument.
   * @returns The result, with the id the request was sent with.
   * @throws {RpcError} If the server answers with an error.
   * @throws {HandleError} If the connection fails or ends before the reply.
   */
  call(method: string, params?: unknown): Promise<unknown> {
    const id = this.#nextId++;
    const reply = Promise.withResolvers<unknown>();
    this.#pending.set(id, reply);
    this.#h.pushWrite("netstring", JSON.stringify({ id, method, params }));
    return reply.promise;
  }

  /**
   * Waits for the replies still due, then closes the connection. Calling it again returns the
   * same promise.
   *
   * @returns Resolves once it is closed.
   */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    await Promise.allSettled([...this.#pending.values()].map((p) => p.promise));
    // The server answers what it has, then closes its side.
    if (!this.#h.destroyed) this.#h.pushShutdown();
    await this.#reading;
    this.#h.destroy();
    await this.#h.closed.catch(() => {});
  }

  async #read(): Promise<void> {
    try {
      // A reply may be a little longer than its request (an echo wrapped in { id, result }).
      const maxLength = 2 * MAX_FRAME;
      for await (const frame of this.#h.iterate("netstring", { maxLength })) {
        const reply = JSON.parse(new TextDecoder().decode(frame)) as RpcReply;
        const call = reply.id === null ? undefined : this.#pending.get(reply.id);
        if (call === undefined) continue; // not ours: a reply to a request we never sent
        this.#pending.delete(reply.id!);
        if ("error" in reply) call.reject(new RpcError(reply.error));
        else call.resolve(reply.result);
      }
      this.#failAll(new Error("The server closed the connection before replying"));
    } catch (e) {
      this.#failAll(e);
    }
  }

  #failAll(err: unknown): void {
    for (const call of this.#pending.values()) call.reject(err);
    this.#pending.clear();
  }
}

/** The demo: a server and a client in this process; five pipelined calls, printed. */
async function demo(): Promise<void> {
  const server = startRpcServer();
  const { port } = server.addr;
  console.log(`rpc: server on 127.0.0.1 (a free port)`);
  const client = RpcClient.connect(port);
  const calls: [string, unknown][] = [
    ["sleep", 150],
    ["add", [1, 2, 3]],
    ["sleep", 50],
    ["echo", { hello: "world" }],
    ["divide", [1, 0]],
  ];
  // Pushed in one synchronous block: the five requests leave in one write.
  const replies = calls.map(([method, params], i) => {
    console.log(`-> #${i + 1} ${method} ${JSON.stringify(params)}`);
    return client.call(method, params).then(
      (result) => console.log(`<- #${i + 1} result ${JSON.stringify(result)}`),
      (err) => console.log(`<- #${i + 1} error ${err.message}`),
    );
  });
  await Promise.all(replies);
  await client.close();
  await server.shutdown(1);
  console.log("rpc: done");
}

/** `server [port]`: serves until SIGINT. */
async function serveForever(port: number): Promise<void> {
  const server = startRpcServer({ port });
  console.error(`rpc: listening on 127.0.0.1:${server.addr.port}`);
  const stop = () => void server.shutdown(5);
  Deno.addSignalListener("SIGINT", stop);
  await server.finished;
  Deno.removeSignalListener("SIGINT", stop);
}

/** `client port method [params]`: one call; prints the result as JSON. */
async function callOnce(port: number, method: string, params: string | undefined): Promise<number> {
  const client = RpcClient.connect(port);
  try {
    console.log(JSON.stringify(await client.call(method, params ? JSON.parse(params) : null)));
    return 0;
  } catch (e) {
    console.error(`rpc: ${e instanceof Error ? e.message : e}`);
    return 1;
  } finally {
    await client.close();
  }
}

const USAGE = "usage: examples/rpc.ts demo | server [port] | client port method [params]";

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  if (mode === "demo") await demo();
  else if (mode === "server") await serveForever(Number(rest[0] ?? 7001));
  else if (mode === "client" && rest.length >= 2) {
    Deno.exit(await callOnce(Number(rest[0]), rest[1], rest[2]));
  } else {
    console.error(USAGE);
    Deno.exit(2);
  }
}
