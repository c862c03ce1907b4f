/**
 * {@linkcode LayerStack}: the layers (TLS, or any other) pushed on a handle's connection, and
 * how bytes are pushed through them: what the read loop reads goes in at the bottom and comes
 * out at the top into `h.rbuf`; what the writer writes goes in at the top and comes out at the
 * bottom, in order, on the connection (see `base/layer.ts`).
 *
 * @module
 */
import { HandleError, ioError } from "../base/errors.ts";
import type { Layer, LayerContext } from "../base/layer.ts";
import type { Transport } from "../base/transport.ts";
import type { ReadSide } from "./reader.ts";
import type { Output, WriteSide } from "./writer.ts";

/** What the layer stack needs from its handle. */
export interface LayerHost {
  /** The connection itself, at the bottom. */
  readonly transport: Transport;
  /** Whether the handle is still open. */
  readonly open: boolean;
  /** The read side: what is buffered goes to a pushed layer, and what comes out goes to it. */
  readonly reader: Pick<ReadSide<unknown>, "rbuf" | "endOfInput" | "wantData" | "received">;
  /** Makes sure the read loop runs (a layer wants input). */
  startReading(): void;
  /** The write side, made if need be (a removal holds it). */
  readonly writer: Pick<WriteSide<unknown>, "flushToCurrent" | "hold">;
  /** Reports a fatal error and destroys the handle. */
  fatal(err: HandleError): void;
  /** Destroys the handle with an error the application was told of some other way. */
  failReported(err: HandleError): void;
}

/** One layer on the stack, and what the stack knows of it. */
interface Level {
  layer: Layer;
  /** Where the writer's bytes go while this layer is on top. */
  output: Output;
  /** The layer asked for input (`ctx.wantInput(true)`). */
  wantsInput: boolean;
  /** The input below ended (`inbound(null)` was given). */
  inputEnded: boolean;
  /** The layer said end of input above (`ctx.end()`). */
  endedUp: boolean;
  /** `ctx.remove()` was called and the removal is under way. */
  removing: boolean;
}

/**
 * The layers on a connection, bottom first, and the connection's writes in order. A handle
 * makes one when its first layer is pushed.
 */
export class LayerStack {
  readonly #host: LayerHost;
  readonly #levels: Level[] = [];
  /** The connection's writes from the layers, one after the other. */
  #wire: Promise<unknown>;

  /**
   * @param host The handle's internals.
   * @param writesBefore Settles when what the writer had queued has gone out on the
   * connection: the layers' own writes go after it.
   */
  constructor(host: LayerHost, writesBefore: Promise<void>) {
    this.#host = host;
    this.#wire = writesBefore;
  }

  /** Where the writer's bytes go: the layer on top, or the connection once none is left. */
  get output(): Output {
    return this.#levels.at(-1)?.output ?? this.#host.transport;
  }

  /** The layer on top, if any. */
  get top(): Layer | undefined {
    return this.#levels.at(-1)?.layer;
  }

  /** Whether a layer needs input even with no reader waiting (a handshake). */
  get wantsInput(): boolean {
    for (const level of this.#levels) if (level.wantsInput) return true;
    return false;
  }

  /**
   * Bytes the read loop read from the connection: into the bottom layer, or, with none left,
   * to the readers.
   *
   * @param bytes The bytes (the stack's to keep), or `null` at end of input.
   */
  inbound(bytes: Uint8Array | null): void {
    this.#up(-1, bytes);
  }

  /** Passes bytes (or the end) from the level `at` (-1: the connection) to the one above. */
  #up(at: number, bytes: Uint8Array | null): void {
    const above = this.#levels[at + 1];
    if (above !== undefined) {
      if (bytes === null) above.inputEnded = true;
      return above.layer.inbound(bytes);
    }
    const reader = this.#host.reader;
    if (bytes === null) reader.endOfInput();
    else reader.received(bytes);
  }

  /** Writes bytes on the connection after everything the layers wrote before. */
  #toWire(bytes: Uint8Array): Promise<void> {
    const transport = this.#host.transport;
    const written = this.#wire.then(async () => {
      for (let at = 0; at < bytes.length;) at += await transport.write(bytes.subarray(at));
    });
    this.#wire = written.catch(() => {});
    return written.catch((e) => {
      if (this.#host.open) this.#host.fatal(ioError(e, "write"));
      throw e;
    });
  }

  #endWire(): Promise<void> {
    const transport = this.#host.transport;
    const ended = this.#wire.then(() => transport.closeWrite());
    this.#wire = ended.catch(() => {});
    return ended;
  }

  /**
   * Puts a layer on top, now: what `h.rbuf` holds is its first input, the bytes queued for
   * writing go out below it first, and the readers read what it passes up.
   *
   * @param create Makes the layer from its context.
   * @param writesBefore Settles when the writes queued before it have gone below.
   * @returns The layer.
   */
  push<L extends Layer>(create: (ctx: LayerContext) => L, writesBefore: Promise<void>): L {
    const host = this.#host;
    const levels = this.#levels;
    // Where the layer is now: a layer below it may be taken off meanwhile.
    const at = () => levels.indexOf(level);
    // What the layer passes down goes after what was queued before it: into the layer below,
    // or onto the connection.
    const down = (bytes: Uint8Array) =>
      writesBefore.then(() => {
        const i = at();
        if (i < 0) return; // taken off: nothing more goes down from it
        return i > 0 ? levels[i - 1].layer.outbound(bytes) : this.#toWire(bytes);
      });
    const ctx: LayerContext = {
      up: (bytes) => {
        const i = at();
        if (host.open && i >= 0) this.#up(i, bytes);
      },
      end: () => {
        const i = at();
        if (!host.open || i < 0 || level.endedUp) return;
        level.endedUp = true;
        this.#up(i, null);
      },
      down,
      endDown: () =>
        writesBefore.then(() => {
          const i = at();
          if (i < 0) return;
          return i > 0 ? levels[i - 1].layer.endOutbound() : this.#endWire();
        }),
      wantInput: (on) => {
        level.wantsInput = on;
        if (on && host.open) host.startReading();
      },
      remove: () => this.#remove(level),
      fail: (err, reported) => reported ? host.failReported(err) : host.fatal(err),
      get active() {
        return host.open && levels.at(-1) === level;
      },
      get open() {
        return host.open;
      },
    };
    const level: Level = {
      layer: undefined as unknown as Layer, // set just below: ctx may be used from `create`
      output: host.transport,
      wantsInput: false,
      inputEnded: false,
      endedUp: false,
      removing: false,
    };
    const layer: L = create(ctx);
    level.layer = layer;
    level.output = {
      write: (p) => layer.outbound(p).then(() => p.length),
      closeWrite: () => layer.endOutbound(),
    };
    levels.push(level);
    const buffered = host.reader.rbuf.takeAll();
    if (buffered.length > 0) layer.inbound(buffered);
    if (level.wantsInput) host.startReading();
    return layer;
  }

  /**
   * Takes a layer off: the writes queued so far go through it, later ones wait; then what it
   * did not use goes up in its place, and the levels around it are joined. Usually the layer
   * is on top; one below may be taken off too (TLS stopped while a new session was started
   * over it: it passes plaintext through until it is off).
   */
  #remove(level: Level): void {
    const host = this.#host;
    const levels = this.#levels;
    if (!host.open || !levels.includes(level) || level.removing) return;
    level.removing = true;
    const writer = host.writer; // made now if need be: writes pushed meanwhile must wait too
    const flushed = writer.flushToCurrent();
    const release = writer.hold();
    flushed.then(() => {
      const at = levels.indexOf(level);
      if (!host.open || at < 0) return;
      levels.splice(at, 1);
      for (const bytes of level.layer.removed()) this.#up(at - 1, bytes);
      if (level.inputEnded && !level.endedUp) this.#up(at - 1, null);
    }).catch((e) => {
      host.fatal(
        e instanceof HandleError ? e : new HandleError("EPROTO", `Cannot remove a layer: ${e}`),
      );
    }).finally(() => {
      release();
      if (host.open) host.reader.wantData();
    });
  }

  /** Closes every layer, top down, then the connection. */
  closeAll(): void {
    for (const level of this.#levels.slice().reverse()) {
      try {
        level.layer.close();
      } catch { /* a layer's own trouble: the handle is closing anyway */ }
    }
    closeQuietly(this.#host.transport);
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
