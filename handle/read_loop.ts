/**
 * {@linkcode ReadLoop}: a handle's reads from its transport, one at a time, each straight into
 * the spare capacity of the read buffer and followed by one dispatch of the read side.
 *
 * @module
 */
import { DIRECT_FRAME, type ReadBuffer } from "../base/buffer.ts";
import { HandleError, ioError } from "../base/errors.ts";
import type { Transport } from "../base/transport.ts";

/** The first read's size, doubled while reads fill it. */
export const DEFAULT_READ_SIZE = 2048;

/**
 * The most a read that may wait holds by default (see `ReadLoop.idleReadSize`): enough for a
 * burst of pipelined requests in one read, an eighth of a grown read's 128 KiB.
 */
export const DEFAULT_IDLE_READ_SIZE = 16384;

/** The largest read size. */
export const DEFAULT_MAX_READ_SIZE = 131072;

/** What the read loop needs from its handle. */
export interface ReadLoopHost {
  /** Where bytes come from: the connection itself (layers get what it reads pushed in). */
  readonly transport: Transport;
  /** Whether the handle is still open. */
  readonly open: boolean;
  /** Reports a fatal error and destroys the handle. */
  fatal(err: HandleError): void;
  /** The read loop started (`closed` waits for it). */
  ioStarted(): void;
  /** The read loop ended. */
  ioEnded(): void;
  /** A read of `bytes` succeeded (for the counters and the inactivity timers). */
  readActivity(bytes: number): void;
  /**
   * Pushes what was read (or `null`, end of input) through the layers, if there are any;
   * returns false without layers.
   */
  throughLayers(bytes: Uint8Array | null): boolean;
  /** Whether a layer needs input even with no reader waiting (a TLS handshake). */
  readonly layersWantInput: boolean;
  /** Whether layers are pushed: what is read goes to them, not to the read buffer. */
  readonly layered: boolean;
}

/** What the read loop needs from the read side it feeds. */
export interface ReadLoopSide {
  /** Where the bytes read go. */
  readonly rbuf: ReadBuffer;
  /** Whether `stopRead()` holds what is read back from the readers. */
  readonly stopped: boolean;
  /** Whether something wants data: the loop keeps a read in flight while it does. */
  wantsRead(): boolean;
  /** How many bytes the read at the head of the queue is known to be missing (else 0). */
  readHint(): number;
  /** The loop waits for the network: the burst of the last read has been handed out. */
  endBurst(): void;
  /** Hands what is buffered to the readers. */
  dispatch(): void;
  /** The transport on top reached end of input. */
  endOfInput(): void;
}

/**
 * The read loop of one handle, as promise callbacks rather than an async function: an idle
 * handle then holds one small closure context instead of a suspended frame.
 */
export class ReadLoop {
  /** The next read's size; doubles while reads fill it, up to `maxReadSize`. */
  readSize = DEFAULT_READ_SIZE;
  /**
   * The most a read may hold while it is likely to wait (nothing buffered, the last read
   * emptied the socket), however far `readSize` has grown: 16 KiB, or the `readSize` option
   * when one is given. Lower by default, it cost pipelined traffic reads: bursts of 32
   * requests a little over 2 KiB took 1.7 reads each.
   */
  idleReadSize = DEFAULT_IDLE_READ_SIZE;
  maxReadSize = DEFAULT_MAX_READ_SIZE;
  rbufMax = Infinity;
  /** The connection said end of input: nothing more is read. */
  #ended = false;

  readonly #host: ReadLoopHost;
  readonly #side: ReadLoopSide;
  /** Set while the read loop runs (one read at a time). */
  #reading = false;
  /** Set while a read of the transport has not returned (its bytes are not seen yet). */
  #inFlight = false;
  /** The last read returned less than it could hold: the socket had nothing more then. */
  #drained = true;

  /**
   * @param host The handle's internals.
   * @param side The read side the bytes go to.
   */
  constructor(host: ReadLoopHost, side: ReadLoopSide) {
    this.#host = host;
    this.#side = side;
  }

  /** Starts the read loop if something wants data and it is not running. */
  startReading(): void {
    if (this.#reading || !this.#wants()) return;
    this.#reading = true;
    this.#host.ioStarted();
    this.#readNext();
  }

  #readNext(): void {
    const side = this.#side;
    side.endBurst(); // waiting for the network now
    const rbuf = side.rbuf;
    let size = this.readSize;
    // Nothing buffered after a read that emptied the socket: this read may wait for long (an
    // idle connection), so it holds no more than `idleReadSize`, and the buffer gives back
    // what a burst grew it to. A read that fills it says the burst goes on: the next one
    // is full size again.
    if (this.#drained && rbuf.length === 0 && size > this.idleReadSize) size = this.idleReadSize;
    let region: Uint8Array;
    if (this.#host.layered) {
      // The bytes go through the layers, which keep them: an array of their own.
      region = new Uint8Array(size);
    } else {
      // A large frame of known size is read straight into an array of its own, and only up to
      // its end: `take` hands that array over (no copy out), and no read runs into the next
      // frame, whose bytes would otherwise be copied out of the shared buffer in their turn.
      const missing = side.readHint();
      if (missing > 0 && missing + rbuf.length >= DIRECT_FRAME) {
        size = missing;
        region = rbuf.reserveFrame(missing);
      } else {
        region = rbuf.reserve(size);
      }
    }
    const transport = this.#host.transport;
    let pending: Promise<number | null>;
    try {
      pending = transport.read(region);
    } catch (e) {
      return this.#readFailed(e);
    }
    this.#inFlight = true;
    pending.then(
      (n) => this.#readDone(n, region, size),
      (e) => this.#readFailed(e),
    );
  }

  /** Whether a read of the transport is in flight: the connection may not be swapped. */
  get inFlight(): boolean {
    return this.#inFlight;
  }

  #readDone(n: number | null, region: Uint8Array, size: number): void {
    this.#inFlight = false;
    const host = this.#host;
    const side = this.#side;
    const rbuf = side.rbuf;
    try {
      if (!host.open) return this.#readEnded();
      if (n === null) {
        this.#ended = true;
        if (!host.throughLayers(null)) side.endOfInput();
        return this.#readEnded();
      }
      host.readActivity(n);
      this.#drained = n < size;
      if (n === size && size === this.readSize && size < this.maxReadSize) {
        this.readSize = Math.min(size * 2, this.maxReadSize);
      }
      if (host.throughLayers(n === region.length ? region : region.subarray(0, n))) {
        return this.#readOn(); // what the layers pass up is dispatched as it arrives
      }
      rbuf.commit(region, n);
      if (side.stopped) return this.#readEnded();
      side.dispatch();
      if (!this.withinLimit()) return this.#readEnded();
    } catch (e) {
      if (host.open) host.fatal(ioError(e, "read"));
      return this.#readEnded();
    }
    this.#readOn();
  }

  /**
   * Checks `rbufMax` after a dispatch: more buffered is a fatal `ENOSPC`.
   *
   * @returns Whether the handle is open and within the limit.
   */
  withinLimit(): boolean {
    const host = this.#host;
    const buffered = this.#side.rbuf.length;
    if (host.open && buffered > this.rbufMax) {
      host.fatal(
        new HandleError(
          "ENOSPC",
          `Read buffer exceeds rbufMax of ${this.rbufMax} bytes (${buffered} buffered)`,
        ),
      );
    }
    return host.open;
  }

  #readFailed(e: unknown): void {
    this.#inFlight = false;
    const host = this.#host;
    if (host.open) host.fatal(ioError(e, "read"));
    this.#readEnded();
  }

  /** Whether to keep a read in flight: a reader wants data, or a layer wants input. */
  #wants(): boolean {
    return !this.#ended && this.#host.open &&
      (this.#side.wantsRead() ||
        (this.#host.layersWantInput && this.#side.rbuf.length < this.maxReadSize));
  }

  /** Reads again if something still wants data, else ends the loop. */
  #readOn(): void {
    if (this.#wants()) this.#readNext();
    else this.#readEnded();
  }

  #readEnded(): void {
    this.#reading = false;
    this.#host.ioEnded();
  }
}
