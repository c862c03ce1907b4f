/**
 * {@linkcode LayerStack}: the transports of a handle once a layer (TLS, or any other) has been
 * pushed on its connection: which one is on top, which are below, and how bytes read by a
 * transport that is no longer on top find the layer that now owns them.
 *
 * @module
 */
import { HandleError } from "../base/errors.ts";
import type { LayerContext, Transport, TransportLayer } from "../base/transport.ts";
import type { ReadSide } from "./reader.ts";
import type { WriteSide } from "./writer.ts";

const ignore = () => {};

/** What the layer stack needs from its handle. */
export interface LayerHost {
  /** The transport on top: the one the queues read and write (the stack replaces it). */
  transport: Transport;
  /** Whether the handle is still open. */
  readonly open: boolean;
  /** The handle's fatal error, if any. */
  error: HandleError | undefined;
  /** The read side: what is buffered and in flight goes to a pushed layer. */
  readonly reader: Pick<
    ReadSide<unknown>,
    "readInFlight" | "rbuf" | "layerChanging" | "endOfInput" | "wantData" | "received"
  >;
  /** The write side if it has been made (a push flushes it to the transport below). */
  readonly madeWriter: Pick<WriteSide<unknown>, "flushToCurrent"> | undefined;
  /** The write side, made if need be (a removal holds it). */
  readonly writer: Pick<WriteSide<unknown>, "flushToCurrent" | "hold">;
  /** Reports a fatal error and destroys the handle. */
  fatal(err: HandleError): void;
  /** Destroys the handle after an error already reported. */
  teardown(err: HandleError | undefined): void;
}

/**
 * The transports under the one on top, bottom first, and the pushing and removing of layers.
 * A handle makes one when its first layer is pushed.
 */
export class LayerStack {
  readonly #host: LayerHost;
  /** The transports under `host.transport`, bottom first. */
  readonly #below: Transport[] = [];

  /** @param host The handle's internals. */
  constructor(host: LayerHost) {
    this.#host = host;
  }

  /** The transport at the bottom of the stack: the socket itself. */
  get base(): Transport {
    return this.#below[0] ?? this.#host.transport;
  }

  /**
   * Puts a layer on top of the current transport, now: what `h.rbuf` holds and what the read
   * in flight returns are fed to it, the bytes queued for writing leave through the old
   * transport first, and the read queue goes on over the layer.
   *
   * @param create Makes the layer from its context.
   * @returns The layer.
   */
  push<L extends TransportLayer>(create: (ctx: LayerContext) => L): L {
    const host = this.#host;
    const below = host.transport;
    const writesBefore = host.madeWriter?.flushToCurrent() ?? Promise.resolve();
    const inFlight = host.reader.readInFlight;
    const readsBefore = inFlight === undefined ? Promise.resolve() : inFlight.then(ignore, ignore);
    const ctx: LayerContext = {
      below,
      readsBefore,
      writesBefore,
      get active() {
        return host.open && host.transport === layer;
      },
      get open() {
        return host.open;
      },
      remove: () => this.#removeLayer(layer),
      fail: (err, reported) => {
        if (!reported) return host.fatal(err);
        if (!host.open) return;
        host.error ??= err;
        host.teardown(err);
      },
    };
    const layer: L = create(ctx);
    this.#below.push(below);
    host.transport = layer;
    const buffered = host.reader.rbuf.takeAll();
    if (buffered.length > 0) layer.feed(buffered);
    return layer;
  }

  /**
   * The transport `from` answered a read after it stopped being on top: hand the bytes to
   * the layer now above it, or, if `from` was a layer that has been removed, to `h.rbuf`.
   *
   * @param from The transport that was read.
   * @param bytes What it returned (`null`: end of input).
   */
  divert(from: Transport, bytes: Uint8Array | null): void {
    const host = this.#host;
    const stack = this.#below;
    const at = stack.indexOf(from);
    if (at >= 0) {
      const above = at + 1 < stack.length ? stack[at + 1] : host.transport;
      (above as TransportLayer).feed(bytes);
    } else if (bytes === null) host.reader.endOfInput();
    else host.reader.received(bytes);
  }

  async #removeLayer(layer: TransportLayer): Promise<void> {
    const host = this.#host;
    if (!host.open || host.transport !== layer || host.reader.layerChanging) return;
    const writer = host.writer; // made now if need be: writes pushed meanwhile must wait too
    const flushed = writer.flushToCurrent();
    const release = writer.hold();
    host.reader.layerChanging = true;
    try {
      const { rest, eof } = await layer.detach();
      await flushed;
      if (!host.open) return;
      host.transport = this.#below.pop()!;
      for (const bytes of rest) host.reader.rbuf.append(bytes);
      host.reader.layerChanging = false;
      release();
      if (eof) host.reader.endOfInput();
      else host.reader.wantData();
    } catch (e) {
      host.fatal(
        e instanceof HandleError ? e : new HandleError("EPROTO", `Cannot remove a layer: ${e}`),
      );
    } finally {
      host.reader.layerChanging = false;
      release();
    }
  }

  /** Closes every transport, top down: a layer may still want to say goodbye below it. */
  closeAll(): void {
    for (const transport of [this.#host.transport, ...this.#below.slice().reverse()]) {
      closeQuietly(transport);
    }
  }
}

/**
 * Closes a transport that may be closed already.
 *
 * @param transport The transport.
 */
export function closeQuietly(transport: Transport): void {
  try {
    transport.close();
  } catch { /* already closed */ }
}
