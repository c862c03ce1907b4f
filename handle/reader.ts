/**
 * {@linkcode ReadSide}: the read queue, its dispatch loop and end of input; the reads from the
 * transport are its {@linkcode ReadLoop} (`read_loop.ts`).
 *
 * @module
 */
import { ReadBuffer } from "../base/buffer.ts";
import { callbackError, HandleError } from "../base/errors.ts";
import type { CustomReaderFor, HandleCallbackFor } from "./options.ts";
import { ReadRequest } from "./read_request.ts";
import { CallbackSink, NO_CONSUMER, type QueuedCallback } from "./read_sink.ts";
import {
  atEnd,
  endUnreported,
  nextReadState,
  type ReadEvent,
  type ReadState,
} from "./read_state.ts";
import { ReadLoop, type ReadLoopHost, type ReadLoopSide } from "./read_loop.ts";
import { type Decoder, NEED_MORE } from "../base/decoder.ts";
import { checkArgCount, type CodecSettings, type ReadType } from "../base/codec.ts";
import { toReadType } from "./names.ts";
import { STEP_CLOSED } from "./iterate.ts";

/** What a decode step tells the dispatch loop when it has no value to deliver. */
const WAIT: unique symbol = Symbol("WAIT");
const GO_ON: unique symbol = Symbol("GO_ON");
/** A dispatch step handed a value to its consumer. */
const DELIVERED: unique symbol = Symbol("DELIVERED");

/** A read type that may go without a callback. */
interface UncalledLike {
  uncalled: (settings: CodecSettings, ...args: unknown[]) => Decoder<unknown>;
  maxUncalledArgs?: number;
}

/** What the read side needs from its handle (besides what its read loop needs). */
export interface ReadHost<H> extends ReadLoopHost {
  /** The handle, passed first to every callback. */
  readonly handle: H;
  /** The current onRead callback. */
  readonly onRead: HandleCallbackFor<H> | undefined;
  /** The current onEof callback. */
  readonly onEof: HandleCallbackFor<H> | undefined;
  /** What the codecs are told (see `CodecSettings`). */
  readonly codecs: CodecSettings;
  /** Reports a non-fatal error. */
  report(err: HandleError): void;
}

/**
 * The read half of a handle. Reading happens only while something wants data; each read of
 * its {@linkcode ReadLoop} goes straight into the spare capacity of the {@linkcode ReadBuffer}
 * and is followed by one dispatch: the queue is drained in order while its head makes
 * progress, then onRead runs.
 */
export class ReadSide<H> implements ReadLoopSide {
  readonly rbuf: ReadBuffer = new ReadBuffer();
  /** The reads from the transport, their sizes and `rbufMax`. */
  readonly loop: ReadLoop;

  readonly #host: ReadHost<H>;
  /** Where the input stands: see the transition table in `read_state.ts`. */
  #state: ReadState = "open";
  /** `atEnd(#state)`, kept with it: every decode asks. */
  #atEnd = false;
  /** `stopRead()`: no read starts, onRead and the end's report wait (AnyEvent's `stop_read`). */
  #stopped = false;
  /** `startRead()` was called: read even with nothing queued, to notice the peer closing. */
  #watching = false;
  /** Whether the end of input has arrived (also once closed): `h.eof`. */
  #endArrived = false;
  /** The read queue: its head, and the entries after it (made when there are two). */
  #head: ReadRequest<H> | undefined = undefined;
  #rest: ReadRequest<H>[] | undefined = undefined;
  /** Set while the dispatch loop runs: a callback's push, unshift or start joins that loop. */
  #dispatching = false;
  /** A request just delivered whose decoder the callback's next read of its type may take. */
  #spare: ReadRequest<H> | undefined = undefined;
  /**
   * The read burst: frames of one read are being handed out to consumers that take them a
   * few microtasks apart (promise reads, iterator steps). It ends, once, when the queue must
   * wait for the network, a read starts, or the handle closes; `onBurstEnd` hears of it.
   */
  #burst = false;
  #burstListeners: (() => void)[] | undefined = undefined;

  /** @param host The handle's internals. */
  constructor(host: ReadHost<H>) {
    this.#host = host;
    this.loop = new ReadLoop(host, this);
  }

  /** Whether end of input has been seen (and delivered). */
  get eof(): boolean {
    return this.#endArrived;
  }

  /** Where the input stands (for tests and messages). */
  get state(): ReadState {
    return this.#state;
  }

  #to(event: ReadEvent): void {
    const state = this.#state = nextReadState(this.#state, event);
    this.#atEnd = atEnd(state);
  }

  /**
   * Whether frames of the last read are still being handed out to promise or iterator
   * consumers: the writer holds its first write until the burst ends, so replies to a
   * pipelined burst leave together.
   */
  get inBurst(): boolean {
    return this.#burst;
  }

  /**
   * Calls `listener` once when the current burst ends (at once if none is open).
   *
   * @param listener Called once.
   */
  onBurstEnd(listener: () => void): void {
    if (!this.#burst) return listener();
    (this.#burstListeners ??= []).push(listener);
  }

  /** Like Netty's `channelReadComplete`: everything buffered has been handed out. */
  endBurst(): void {
    if (!this.#burst) return;
    this.#burst = false;
    const listeners = this.#burstListeners;
    if (listeners === undefined) return;
    this.#burstListeners = undefined;
    for (const listener of listeners) listener();
  }

  /**
   * Makes the queue entry of `pushRead`/`unshiftRead`.
   *
   * @param typeOrReader A read type, its name, or a custom reader.
   * @param rest The type's arguments, then the callback (or, for a type that may go without
   * one, the arguments of that form).
   * @returns The entry.
   */
  makeRequest(typeOrReader: unknown, rest: unknown[]): ReadRequest<H> {
    const type = toReadType(typeOrReader);
    if (type === undefined) {
      if (typeof typeOrReader !== "function") {
        throw new TypeError("Cannot queue a read: expected a read type, its name or a reader");
      }
      if (rest.length > 0) {
        throw new TypeError(
          `Cannot queue a custom reader with ${rest.length} argument${
            rest.length === 1 ? "" : "s"
          } after it: it takes none`,
        );
      }
      return new ReadRequest<H>(undefined, undefined, typeOrReader as CustomReaderFor<H>);
    }
    const callback = rest[rest.length - 1];
    if (typeof callback !== "function") {
      const uncalled = (type as Partial<UncalledLike>).uncalled;
      if (uncalled === undefined) {
        throw new TypeError(
          `Cannot queue a "${type.typeName}" read: the last argument must be a callback`,
        );
      }
      checkArgCount(type, rest.length, (type as Partial<UncalledLike>).maxUncalledArgs);
      return new ReadRequest<H>(type, uncalled(this.#host.codecs, ...rest), undefined, NO_CONSUMER);
    }
    const spare = this.#spare;
    let decoder: Decoder<unknown>;
    if (spare !== undefined && spare.readType === type && sameArgs(spare.args, rest)) {
      this.#spare = undefined;
      // The same read re-pushed from its own callback (the usual loop): its delivered entry,
      // out of the queue since, serves again as it is; with another callback, its decoder.
      if ((spare.sink as CallbackSink<H>).callback === callback) return spare;
      decoder = spare.decoder!;
      rest.pop();
    } else {
      rest.pop();
      decoder = this.createDecoder(type, rest);
    }
    const request = new ReadRequest<H>(
      type,
      decoder,
      undefined,
      new CallbackSink(callback as QueuedCallback<H>),
    );
    // A read without arguments (the usual) shares one empty list: a queued read stays small.
    if (rest.length === 0) request.args = NO_ARGS;
    else if (rest.every(unchanging)) request.args = rest;
    return request;
  }

  /**
   * Makes a decoder from the handle's codec settings.
   *
   * @param type The read type.
   * @param args Its arguments.
   * @returns A new decoder.
   * @throws {TypeError} For more arguments than the type takes.
   */
  createDecoder(type: ReadType, args: unknown[]): Decoder<unknown> {
    checkArgCount(type, args.length, type.maxReadArgs);
    return type.decoder(this.#host.codecs, ...args);
  }

  /**
   * Queues an entry and dispatches what is buffered.
   *
   * @param request The entry.
   * @param atFront Whether it goes to the head of the queue.
   */
  enqueue(request: ReadRequest<H>, atFront: boolean): void {
    if (atFront) this.#unshift(request);
    else if (this.#head === undefined) this.#head = request;
    else (this.#rest ??= []).push(request);
    // Inside a dispatch the outer loop sees the new entry, and whoever started that dispatch
    // starts reading afterwards if needed.
    if (!this.#dispatching) this.wantData();
  }

  /**
   * Queues an iterator's step from inside its `next()`, as `enqueue` does. Alone in the queue,
   * its frame is decoded at once by the dispatch's decode step and returned (what the step's
   * sink would be given), and the round stops there (no onRead, no end report), since the
   * consumer comes back for the next one. Otherwise its sink gets the outcome later.
   *
   * @param request The step.
   * @returns The value, `NEED_MORE` if the step waits in the queue, or `STEP_CLOSED` (nothing
   * queued) if the handle is closed.
   */
  takeStep(request: ReadRequest<H>): unknown {
    if (
      this.#head !== undefined || this.#dispatching || this.#stopped || !this.#host.open ||
      request.readType!.act !== undefined
    ) {
      if (!this.#host.open) return STEP_CLOSED;
      this.enqueue(request, false);
      return NEED_MORE;
    }
    // Alone in the queue: the dispatch step's decode, without the rest of a round.
    this.#head = request;
    this.#dispatching = true;
    let value;
    try {
      value = this.#decodeFrame(request);
    } finally {
      this.#dispatching = false;
    }
    if (value === GO_ON) this.wantData(); // an error was handled: the round goes on
    else if (value === WAIT) this.startReading();
    else {
      this.#shift();
      if (this.rbuf.length > 0) this.#burst = true;
      // Layers (TLS) read ahead up to a bound of buffered bytes: taking a frame makes room.
      if (this.#host.layered) this.startReading();
      return request.shape === "tuple" ? (value as unknown[])[0] : value;
    }
    return NEED_MORE;
  }

  /**
   * Removes an entry still queued (an aborted or abandoned step).
   *
   * @param request The entry.
   */
  remove(request: ReadRequest<H>): void {
    if (this.#head === request) return void this.#shift();
    const rest = this.#rest;
    const i = rest === undefined ? -1 : rest.indexOf(request);
    if (i >= 0) rest!.splice(i, 1);
  }

  /** Stops starting reads. */
  stop(): void {
    this.#stopped = true;
    this.#watching = false;
  }

  /**
   * Reads from now on even with nothing queued (AnyEvent's `start_read`), after `stop()` too,
   * and dispatches what arrived meanwhile (an end held while stopped is seen now).
   */
  start(): void {
    this.#watching = true;
    this.#stopped = false;
    this.#to("start");
    this.wantData();
  }

  /** Dispatches what is buffered and starts reading if something wants data. */
  wantData(): void {
    this.dispatch();
    this.startReading();
  }

  /**
   * Empties the queue, rejecting promise reads.
   *
   * @param err The error to reject with.
   * @returns Whether any promise read received `err`.
   */
  failAll(err: HandleError): boolean {
    let seen = false;
    const all = this.#head === undefined ? [] : [this.#head, ...(this.#rest ?? [])];
    this.#head = this.#rest = undefined;
    for (const request of all) if (request.sink.fail(err)) seen = true;
    return seen;
  }

  /** The handle is closing: nothing runs again, and a burst that was open ends. */
  close(): void {
    this.#to("close");
    this.endBurst();
  }

  /**
   * Drains the queue while its head makes progress, then calls onRead; at end of input,
   * reports it once the queue is empty. Not re-entrant: a callback that pushes, unshifts or
   * destroys changes what the outer loop sees next.
   */
  dispatch(): void {
    const host = this.#host;
    if (this.#dispatching || !host.open || (this.#stopped && this.#head === undefined)) return;
    this.#dispatching = true;
    const rbuf = this.rbuf;
    try {
      while (host.open) {
        const request = this.#head;
        if (request !== undefined) {
          if (request.custom !== undefined) {
            if (!this.#runCustom(request)) break;
            continue;
          }
          if (this.#step(request) === WAIT) break;
        } else if (this.#stopped) {
          break;
        } else if (rbuf.length > 0 && host.onRead !== undefined) {
          if (!this.#runOnRead(host.onRead!)) break;
        } else if (endUnreported(this.#state)) {
          this.#reportEnd(); // onEof may queue reads that the remaining bytes satisfy
        } else {
          break;
        }
      }
    } finally {
      this.#dispatching = false;
    }
  }

  /**
   * The dispatch step for a typed read at the head of the queue: decodes its frame and hands
   * the value to its sink. Returns `DELIVERED`, or what `#decodeFrame` said (`WAIT`, `GO_ON`).
   */
  #step(request: ReadRequest<H>): typeof DELIVERED | typeof WAIT | typeof GO_ON {
    const value = this.#decodeFrame(request);
    if (value === WAIT || value === GO_ON) return value;
    this.#shift();
    const sink = request.sink;
    if (sink.async && request.readType!.act === undefined) {
      // A promise or an iterator step: settling it cannot throw.
      if (this.rbuf.length > 0) this.#burst = true;
      sink.deliver(this.#host.handle, value, request.shape === "tuple");
    } else {
      this.#spare = request.args !== undefined ? request : undefined;
      this.#deliver(request, value);
      this.#spare = undefined;
    }
    return DELIVERED;
  }

  /**
   * The one place a typed read's decoder runs: decodes the frame of `request`, the head of the
   * queue. Returns the value (the caller delivers it), or `WAIT` (nothing to deliver until more
   * bytes arrive), or `GO_ON` (what the decoder threw, or what end of input means for the read,
   * has been handled: dispatching goes on).
   */
  #decodeFrame(request: ReadRequest<H>): unknown {
    const rbuf = this.rbuf;
    const before = rbuf.length;
    const decoder = request.decoder!;
    const ended = this.#atEnd;
    let value: unknown;
    try {
      if (ended && decoder.decodeEof) {
        value = decoder.decodeEof(rbuf);
        if (request.shape === "first" && value !== NEED_MORE) value = (value as unknown[])[0];
      } else {
        const shape = request.shape;
        value = shape === "first" || shape === "pair"
          ? decoder.decodeFirst!(rbuf)
          : decoder.decode(rbuf);
      }
    } catch (e) {
      return this.#decodeFailed(request, e, before) ? GO_ON : WAIT;
    }
    if (value !== NEED_MORE) return value;
    this.endBurst(); // this read waits for the network: the burst has been handed out
    if (rbuf.length !== before && !ended && !decoder.skips) {
      this.#contractBroken(request.type);
    } else if (ended && this.#unsatisfiedAtEnd(request)) return GO_ON;
    return WAIT;
  }

  #shift(): void {
    const rest = this.#rest;
    this.#head = rest === undefined ? undefined : rest.shift();
  }

  #unshift(request: ReadRequest<H>): void {
    if (this.#head !== undefined) (this.#rest ??= []).unshift(this.#head);
    this.#head = request;
  }

  /** Runs onRead; returns whether to keep dispatching (it consumed or queued something). */
  #runOnRead(onRead: HandleCallbackFor<H>): boolean {
    const before = this.rbuf.length;
    try {
      onRead(this.#host.handle);
    } catch (e) {
      this.#host.fatal(callbackError(e, "onRead"));
      return false;
    }
    if (this.rbuf.length !== before || this.#head !== undefined) return true;
    if (this.#atEnd) {
      this.#host.fatal(
        new HandleError("EPIPE", `End of input with ${before} bytes onRead did not consume`),
      );
    }
    return false;
  }

  /** Runs a custom reader at the head of the queue; returns whether to keep dispatching. */
  #runCustom(request: ReadRequest<H>): boolean {
    this.#shift();
    let done: boolean;
    try {
      done = request.custom!(this.#host.handle);
    } catch (e) {
      this.#host.fatal(callbackError(e, "Custom reader"));
      return false;
    }
    if (!this.#host.open) return false;
    if (done) return true;
    this.#unshift(request);
    return this.#atEnd && this.#unsatisfiedAtEnd(request);
  }

  #deliver(request: ReadRequest<H>, value: unknown): void {
    const type = request.readType!;
    const h = this.#host.handle;
    if (type.act !== undefined) {
      try {
        type.act(h, value, request.decoder!);
      } catch (e) {
        const err = e instanceof HandleError ? e : callbackError(e, `Read type "${type.typeName}"`);
        request.sink.fail(err);
        this.#host.fatal(err);
        return;
      }
    }
    try {
      if (request.shape === "pair") {
        (request.sink as CallbackSink<H>).deliverPair(h, value, request.decoder!.lastSecond!());
      } else request.sink.deliver(h, value, request.shape === "tuple");
    } catch (e) {
      this.#host.fatal(callbackError(e, `The "${type.typeName}" read callback`));
    }
  }

  /** Handles a decoder's throw; returns whether dispatching may continue. */
  #decodeFailed(request: ReadRequest<H>, thrown: unknown, lengthBefore: number): boolean {
    const host = this.#host;
    if (!(thrown instanceof HandleError)) {
      host.fatal(
        new HandleError("EINVAL", `The "${request.type}" decoder threw: ${String(thrown)}`, {
          cause: thrown,
        }),
      );
      return false;
    }
    const err = new HandleError(thrown.code, `Read type "${request.type}": ${thrown.message}`, {
      fatal: thrown.fatal,
      cause: thrown,
    });
    if (err.fatal) {
      host.fatal(err);
      return false;
    }
    if (request.sink.async) {
      this.remove(request);
      // A promise read or iterator step told of a bad frame at end of input is not then failed
      // with end of input behind its back: its next read meets the end (non-fatal means the
      // handle goes on).
      if (this.#atEnd) this.#to("take");
      request.sink.fail(err);
      // The rest of the bad frame has not arrived yet: skip it before any later reader runs.
      const decoder = request.decoder!;
      if (decoder.finishSkip !== undefined && !decoder.finishSkip(this.rbuf)) {
        const skip = new ReadRequest<H>(undefined, undefined, () => decoder.finishSkip!(this.rbuf));
        this.#unshift(skip);
      }
      return true;
    }
    host.report(err);
    // A non-fatal error leaves the read queued; it is retried when progress is possible.
    return host.open && this.rbuf.length !== lengthBefore;
  }

  #contractBroken(type: string): typeof NEED_MORE {
    this.#host.fatal(
      new HandleError("EINVAL", `The "${type}" decoder returned NEED_MORE after consuming bytes`),
    );
    return NEED_MORE;
  }

  /**
   * A read that cannot complete at end of input: an iterator step with nothing left ends its
   * iteration (returns true: keep dispatching); anything else is a fatal EPIPE.
   */
  #unsatisfiedAtEnd(request: ReadRequest<H>): boolean {
    const left = this.rbuf.length;
    if (left === 0 && request.custom === undefined && request.sink.end()) {
      this.remove(request);
      this.#to("take");
      return true;
    }
    this.#host.fatal(
      new HandleError(
        "EPIPE",
        `End of input with a "${request.type}" read pending (${left} bytes unconsumed)`,
      ),
    );
    return false;
  }

  /** The queue is empty at end of input: onEof, else (unless a reader took it) a fatal EPIPE. */
  #reportEnd(): void {
    const taken = this.#state === "taken";
    this.#to("report");
    const onEof = this.#host.onEof;
    if (onEof !== undefined) {
      try {
        onEof(this.#host.handle);
      } catch (e) {
        this.#host.fatal(callbackError(e, "onEof"));
      }
    } else if (!taken) {
      this.#host.fatal(new HandleError("EPIPE", "Unexpected end of input (no onEof callback)"));
    }
  }

  // ---- what the read loop asks ----

  /** Whether `stopRead()` is in force. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * How many bytes the read at the head of the queue is known to be missing (a large frame is
   * read into an array of its own), else 0.
   */
  readHint(): number {
    return this.#head?.decoder?.readHint?.(this.rbuf) ?? 0;
  }

  /**
   * Whether to keep a read in flight: while a read is queued or onRead is set (as in
   * AnyEvent), and also, with onEof set, while less than `maxReadSize` is buffered, so that a
   * peer closing an idle connection is noticed; data that arrives meanwhile waits in rbuf for
   * a reader, and at most about one read's worth piles up.
   */
  wantsRead(): boolean {
    const host = this.#host;
    return this.#state === "open" && !this.#stopped && host.open &&
      (this.#head !== undefined || host.onRead !== undefined ||
        ((this.#watching || host.onEof !== undefined) && this.rbuf.length < this.loop.maxReadSize));
  }

  /** Starts the read loop if something wants data and it is not running. */
  startReading(): void {
    this.loop.startReading();
  }

  /** End of input (from the transport, or handed back by a layer that was removed). */
  endOfInput(): void {
    this.#endArrived = true;
    this.endBurst();
    this.#to(this.#stopped ? "endWhileStopped" : "end");
    this.dispatch();
  }

  /**
   * Bytes a layer passed up (or handed back when taken off): appended to `rbuf`, dispatched,
   * and held to `rbufMax`.
   *
   * @param bytes The bytes.
   */
  received(bytes: Uint8Array): void {
    this.rbuf.append(bytes);
    this.wantData();
    this.loop.withinLimit();
  }
}

/** The arguments of every read that has none (its type's default form). */
const NO_ARGS: readonly unknown[] = Object.freeze([]);

/** Whether a read argument is a value that cannot change, so equal means the same decoder. */
function unchanging(arg: unknown): boolean {
  const type = typeof arg;
  return type === "string" || type === "number" || type === "boolean" || arg === undefined ||
    arg instanceof RegExp;
}

/**
 * Whether `args` (a reusable request's, or `undefined`) are `rest` without its last element
 * (the callback).
 */
function sameArgs(args: readonly unknown[] | undefined, rest: unknown[]): boolean {
  if (args === undefined) return false;
  const argc = args.length;
  if (argc !== rest.length - 1) return false;
  for (let i = 0; i < argc; i++) if (!Object.is(args[i], rest[i])) return false;
  return true;
}
