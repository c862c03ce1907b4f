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

/** The largest read size. */
export const DEFAULT_MAX_READ_SIZE = 131072;

/** What the read loop needs from its handle. */
export interface ReadLoopHost {
  /** Where bytes come from: the transport on top. */
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
   * A read on `from` returned after `from` stopped being the transport on top (a layer was
   * pushed or removed meanwhile): these bytes (or `null`, end of input) go where they belong.
   */
  divert(from: Transport, bytes: Uint8Array | null): void;
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
  maxReadSize = DEFAULT_MAX_READ_SIZE;
  rbufMax = Infinity;
  /** The raw read in flight, if any (TLS waits for it before reading itself). */
  readInFlight: Promise<unknown> | undefined = undefined;

  readonly #host: ReadLoopHost;
  readonly #side: ReadLoopSide;
  /** Set while the read loop runs (one read at a time). */
  #reading = false;

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
    if (this.#reading || !this.#side.wantsRead()) return;
    this.#reading = true;
    this.#host.ioStarted();
    this.#readNext();
  }

  #readNext(): void {
    const side = this.#side;
    side.endBurst(); // waiting for the network now
    const rbuf = side.rbuf;
    // A large frame of known size is read straight into an array of its own (no copy out).
    const missing = side.readHint();
    const direct = missing >= DIRECT_FRAME;
    const size = direct ? missing : this.readSize;
    const region = direct ? rbuf.reserveFrame(missing) : rbuf.reserve(size);
    const transport = this.#host.transport;
    let pending: Promise<number | null>;
    try {
      pending = transport.read(region);
    } catch (e) {
      return this.#readFailed(e, transport);
    }
    this.readInFlight = pending;
    pending.then(
      (n) => this.#readDone(n, transport, region, size),
      (e) => this.#readFailed(e, transport),
    );
  }

  #readDone(n: number | null, transport: Transport, region: Uint8Array, size: number): void {
    this.readInFlight = undefined;
    const host = this.#host;
    const side = this.#side;
    const rbuf = side.rbuf;
    try {
      if (!host.open) return this.#readEnded();
      if (host.transport !== transport) {
        host.divert(transport, n === null ? null : region.slice(0, n));
        return this.#readOn();
      }
      host.readActivity(n ?? 0);
      if (n === null) {
        side.endOfInput();
        return this.#readEnded();
      }
      rbuf.commit(region, n);
      if (n === size && size === this.readSize && size < this.maxReadSize) {
        this.readSize = Math.min(size * 2, this.maxReadSize);
      }
      if (side.stopped) return this.#readEnded();
      side.dispatch();
      if (host.open && rbuf.length > this.rbufMax) {
        host.fatal(
          new HandleError(
            "ENOSPC",
            `Read buffer exceeds rbufMax of ${this.rbufMax} bytes (${rbuf.length} buffered)`,
          ),
        );
        return this.#readEnded();
      }
    } catch (e) {
      if (host.open) host.fatal(ioError(e, "read"));
      return this.#readEnded();
    }
    this.#readOn();
  }

  #readFailed(e: unknown, transport: Transport): void {
    this.readInFlight = undefined;
    const host = this.#host;
    if (host.open && host.transport === transport) host.fatal(ioError(e, "read"));
    this.#readEnded();
  }

  /** Reads again if something still wants data, else ends the loop. */
  #readOn(): void {
    if (this.#side.wantsRead()) this.#readNext();
    else this.#readEnded();
  }

  #readEnded(): void {
    this.#reading = false;
    this.#host.ioEnded();
  }
}
