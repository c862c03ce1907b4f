/**
 * {@linkcode CipherDuplex}: the ciphertext side of a TLS session, a Node `Duplex` that the
 * TLS layer pushes what arrives from below into, for `node:tls` to read, and whose writes go
 * down through the layer's context.
 *
 * @module
 */
import { Duplex } from "node:stream";
import { NEED_MORE } from "../base/decoder.ts";
import type { LayerContext } from "../base/layer.ts";
import { fatalAlert, recordPrefix } from "./records.ts";

const EMPTY: Uint8Array = new Uint8Array(0);
/** A TLS record header: type, version (2 bytes), length (2 bytes). */
const HEADER = 5;
/** Event-loop turns given to TLS to act on a close_notify before bytes that follow it. */
const SETTLE_TURNS = 3;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** What the duplex reports to its session. */
export interface CipherEvents {
  /**
   * After this side's close_notify, the peer sent bytes that are not a TLS record: it has
   * gone back to plaintext. Those bytes wait for {@linkcode CipherDuplex.leftover}.
   */
  plaintextAfterStop(): void;
}

/**
 * The ciphertext side of a TLS session. It hands `node:tls` whole TLS records only: bytes
 * that do not start a record are held back for a few macrotasks, so that a close_notify fed
 * just before them can end the session first. Then they are plaintext that followed the
 * close_notify, and {@linkcode CipherDuplex.leftover} hands them back; otherwise they go to
 * TLS, which reports them as a protocol error.
 */
export class CipherDuplex extends Duplex {
  readonly #ctx: LayerContext;
  readonly #events: CipherEvents;
  /**
   * Bytes received and not yet fed, in order: a partial record at the front (completed from
   * the next chunk by copying only what it lacks), or bytes held back.
   */
  #queue: Uint8Array[] = [];
  #ended = false;
  #received = 0;
  #stopped = false;
  #detached = false;
  #holding = false;
  /** Woken when bytes arrive (for `lookAhead`). */
  #arrived: (() => void) | undefined = undefined;
  /** Whether `end()` leaves the connection's writing half open (stoptls). */
  keepRawOpen = false;
  /** Held back until `lookAhead` has judged the front of the stream. */
  #judging = false;

  /**
   * @param ctx The TLS layer's context: where written ciphertext goes.
   * @param events Where a peer's return to plaintext is reported.
   */
  constructor(ctx: LayerContext, events: CipherEvents) {
    super({ allowHalfOpen: true });
    this.#ctx = ctx;
    this.#events = events;
  }

  /** Whether the input below ended under TLS. */
  get rawEnded(): boolean {
    return this.#ended;
  }

  /** How many bytes of the TLS stream have arrived so far. */
  get received(): number {
    return this.#received;
  }

  /**
   * Ciphertext from below.
   *
   * @param bytes The bytes, or `null` for end of input.
   */
  feed(bytes: Uint8Array | null): void {
    if (bytes === null) this.#ended = true;
    else if (bytes.length > 0) {
      this.#received += bytes.length;
      this.#queue.push(bytes);
    }
    const arrived = this.#arrived;
    this.#arrived = undefined;
    arrived?.();
    this.#pump();
  }

  /** This side sent close_notify: bytes that are not a TLS record are the peer's plaintext. */
  stopped(): void {
    this.#stopped = true;
  }

  /**
   * Stops feeding TLS: what arrives from now on is kept for {@linkcode CipherDuplex.leftover}
   * (the connection goes on in plaintext).
   */
  detach(): void {
    this.#detached = true;
  }

  /**
   * Returns what was received but not fed (the plaintext that followed the close_notify).
   *
   * @returns The bytes, in order.
   */
  leftover(): Uint8Array[] {
    this.#detached = true;
    return this.#queue.splice(0);
  }

  /** Everything received and not fed, as one array (for a look at the front). */
  #joined(): Uint8Array {
    const queue = this.#queue;
    if (queue.length === 0) return EMPTY;
    if (queue.length > 1) {
      let all = EMPTY;
      for (const chunk of queue) all = concat(all, chunk);
      queue.length = 0;
      queue.push(all);
    }
    return queue[0];
  }

  /**
   * Waits until `judge` can tell from the front of the stream, and feeds nothing meanwhile:
   * TLS gets those bytes afterwards. For a server that looks at the ClientHello first.
   *
   * @param judge Looks at every byte received so far; `NEED_MORE` to wait for more.
   * @returns Its verdict, or `null` at end of input before it had one.
   */
  async lookAhead<T>(judge: (bytes: Uint8Array) => T | typeof NEED_MORE): Promise<T | null> {
    this.#judging = true;
    try {
      for (;;) {
        const verdict = judge(this.#joined());
        if (verdict !== NEED_MORE) return verdict;
        if (this.#ended || this.#detached) return null;
        await new Promise<void>((resolve) => this.#arrived = resolve);
      }
    } finally {
      this.#judging = false;
    }
  }

  /** Starts feeding what has arrived, once `lookAhead` has judged it. */
  judged(): void {
    this.#pump();
  }

  /** Feeds the whole records at the front, then the end or bytes that are no record. */
  #pump(): void {
    if (this.#judging || this.#holding || this.#detached) return;
    const queue = this.#queue;
    for (;;) {
      const front = queue[0];
      if (front === undefined) {
        if (this.#ended) this.push(null);
        return;
      }
      const { length, valid } = recordPrefix(front);
      if (length > 0) {
        if (length === front.length) queue.shift();
        else queue[0] = front.subarray(length);
        this.push(length === front.length ? front : front.subarray(0, length));
        continue;
      }
      if (!valid) return this.#notARecord();
      // A partial record: complete it from the next chunk, copying only what it lacks.
      const next = queue[1];
      if (next === undefined) {
        if (this.#ended) {
          queue.length = 0;
          this.push(front); // a truncated record: TLS reports it
          this.push(null);
        }
        return;
      }
      const need = front.length >= HEADER
        ? HEADER + ((front[3] << 8) | front[4]) - front.length
        : HEADER - front.length;
      const take = Math.min(need, next.length);
      queue[0] = concat(front, next.subarray(0, take));
      if (take === next.length) queue.splice(1, 1);
      else queue[1] = next.subarray(take);
    }
  }

  /** The front of what arrived is not a TLS record. */
  #notARecord(): void {
    if (this.#stopped) return this.#events.plaintextAfterStop();
    // Let a close_notify fed just before take effect (the session detaches us), else feed
    // the bytes to TLS, which fails the session with a protocol error.
    this.#holding = true;
    let turn = 0;
    const wait = () => {
      if (this.#detached) return;
      if (++turn < SETTLE_TURNS) return void setTimeout(wait, 0);
      this.#holding = false;
      if (this.#stopped) return this.#events.plaintextAfterStop();
      const bytes = this.#joined();
      this.#queue.length = 0;
      this.push(bytes);
      if (this.#ended) this.push(null);
    };
    setTimeout(wait, 0);
  }

  override _read(): void {
    // Bytes are pushed as they arrive from below; node:tls asks in vain.
  }

  override _write(chunk: Uint8Array, _enc: string, done: (e?: Error | null) => void): void {
    this.#ctx.down(chunk).then(() => done(), (e) => done(e));
  }

  override _writev(chunks: { chunk: Uint8Array }[], done: (e?: Error | null) => void): void {
    const joined = new Uint8Array(chunks.reduce((sum, c) => sum + c.chunk.length, 0));
    let at = 0;
    for (const { chunk } of chunks) {
      joined.set(chunk, at);
      at += chunk.length;
    }
    this.#ctx.down(joined).then(() => done(), (e) => done(e));
  }

  /**
   * Sends a fatal TLS alert in plaintext, straight down: for a server that gives up on a
   * ClientHello before the TLS library has answered it. Never rejects.
   *
   * @param description The alert's code (`TLS_ALERT`).
   * @returns Settles once the alert has gone down, or that failed.
   */
  alert(description: number): Promise<void> {
    return this.#ctx.down(fatalAlert(description)).catch(() => {});
  }

  override _final(done: (e?: Error | null) => void): void {
    if (this.keepRawOpen) return done();
    this.#ctx.endDown().then(() => done(), (e) => done(e));
  }
}
