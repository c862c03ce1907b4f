/**
 * {@linkcode Transport}: the one interface the handle does its I/O through.
 *
 * @module
 */
import type { HandleError } from "./errors.ts";

/**
 * The byte stream under a handle. `Deno.TcpConn`, `Deno.UnixConn` and `Deno.TlsConn` are
 * transports as they are; a reader/writer pair becomes one with {@linkcode toTransport}.
 *
 * At most one `read` and one `write` are in flight at a time.
 */
export interface Transport {
  /** Reads into `p`; resolves with the byte count, or `null` at end of input. */
  read(p: Uint8Array): Promise<number | null>;
  /**
   * Writes some prefix of `p`; resolves with how many bytes the OS accepted. `p` is only lent:
   * the handle fills it again once the promise settles, so copy what must be kept.
   */
  write(p: Uint8Array): Promise<number>;
  /** Ends the writing half (TCP FIN), where the transport has one. */
  closeWrite(): Promise<void>;
  /** Closes both halves and ends any read or write in flight. */
  close(): void;
  /** `TCP_NODELAY`, where the transport is a TCP socket. */
  setNoDelay?(noDelay?: boolean): void;
  /** `SO_KEEPALIVE`, where the transport is a TCP socket. */
  setKeepAlive?(keepAlive?: boolean): void;
}

/**
 * A transport that runs on top of another one, put there mid-stream by
 * {@linkcode LayerContext}'s owner, `Handle.pushLayer`: TLS is one; a compression layer, or
 * one that strips a header, can be another. The handle reads and writes the layer; the layer
 * reads and writes `ctx.below`.
 */
export interface TransportLayer extends Transport {
  /**
   * Takes bytes that were read from the transport below before the layer took over, in
   * order: first what was buffered in `h.rbuf`, then what the read in flight returned
   * (`null`: end of input). They come ahead of anything the layer reads below itself.
   *
   * @param bytes Bytes the layer now owns, or `null` for end of input.
   */
  feed(bytes: Uint8Array | null): void;
  /**
   * Ends the layer, after `ctx.remove()`. The layer answers a read pending on it (with what
   * it has, or 0 bytes), stops reading below, and resolves with what the handle should read
   * next, in stream order: its own output not yet read, then the bytes it read below and did
   * not use. The handle appends them to `h.rbuf` and reads the transport below from then on.
   *
   * @returns The bytes, and whether end of input was seen below.
   */
  detach(): Promise<{ rest: Uint8Array[]; eof: boolean }>;
}

/** What a layer is given when it is pushed: where its bytes go and when it may start. */
export interface LayerContext {
  /** The transport under the layer. */
  readonly below: Transport;
  /**
   * Settles once the read that was in flight below (if any) has been handed to `feed`: read
   * below only after it, so that one read at a time is pending there.
   */
  readonly readsBefore: Promise<void>;
  /**
   * Settles once the bytes queued before the layer was pushed have been written below:
   * write below only after it, so that they go first.
   */
  readonly writesBefore: Promise<void>;
  /** Whether the layer is still on the handle and the handle is open. */
  readonly active: boolean;
  /** Whether the handle is still open (the layer may have been removed). */
  readonly open: boolean;
  /**
   * Takes the layer off: writes queued so far leave through it, later ones wait; once
   * `detach()` resolves, its rest is appended to `h.rbuf` and the handle reads and writes
   * `below` again. Does nothing if the layer is no longer on top.
   */
  remove(): void;
  /**
   * Destroys the handle with `err` (its `closed` rejects with it). `reported`: the layer has
   * told the application itself, so `onError` is not called.
   *
   * @param err The error.
   * @param reported Whether to skip `onError`.
   */
  fail(err: HandleError, reported?: boolean): void;
}

/** Something that reads, such as `Deno.stdin` or a child process's output file. */
export interface ByteReader {
  /** Reads into `p`; resolves with the byte count, or `null` at end of input. */
  read(p: Uint8Array): Promise<number | null>;
  /** Closes the reader. */
  close?(): void;
}

/** Something that writes, such as `Deno.stdout`. */
export interface ByteWriter {
  /** Writes some prefix of `p`; resolves with the byte count written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the writer. */
  close?(): void;
}

/** A reader and a writer used together as one connection (pipes, stdin/stdout). */
export interface ReaderWriterPair {
  /** Where the handle reads from. */
  reader: ByteReader;
  /** Where the handle writes to. */
  writer: ByteWriter;
}

/** What `new Handle(...)` accepts. */
export type HandleSource = Transport | ReaderWriterPair;

/** A reader/writer pair as a {@linkcode Transport}: `closeWrite` closes the writer. */
class PairTransport implements Transport {
  #reader: ByteReader;
  #writer: ByteWriter;
  #writerClosed = false;
  #readerClosed = false;

  constructor(pair: ReaderWriterPair) {
    this.#reader = pair.reader;
    this.#writer = pair.writer;
  }

  read(p: Uint8Array): Promise<number | null> {
    return this.#reader.read(p);
  }

  write(p: Uint8Array): Promise<number> {
    return this.#writer.write(p);
  }

  closeWrite(): Promise<void> {
    this.#closeWriter();
    return Promise.resolve();
  }

  close(): void {
    this.#closeWriter();
    if (!this.#readerClosed) {
      this.#readerClosed = true;
      try {
        this.#reader.close?.();
      } catch { /* already closed by its owner */ }
    }
  }

  #closeWriter(): void {
    if (this.#writerClosed) return;
    this.#writerClosed = true;
    try {
      this.#writer.close?.();
    } catch { /* already closed by its owner */ }
  }
}

/**
 * Returns `source` as a {@linkcode Transport}: a conn as it is, a reader/writer pair wrapped.
 *
 * @param source A `Deno.Conn` (TCP, Unix, TLS), any transport, or `{ reader, writer }`.
 * @returns The transport.
 * @throws {TypeError} If `source` is neither.
 *
 * @example Wrapping stdin and stdout
 * ```ts
 * import { toTransport } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const transport = toTransport({ reader: Deno.stdin, writer: Deno.stdout });
 * assert.equal(typeof transport.closeWrite, "function");
 * ```
 */
export function toTransport(source: HandleSource): Transport {
  if (source !== null && typeof source === "object") {
    if ("reader" in source && "writer" in source) return new PairTransport(source);
    if (
      typeof (source as Transport).read === "function" &&
      typeof (source as Transport).write === "function" &&
      typeof (source as Transport).close === "function"
    ) {
      return source as Transport;
    }
  }
  throw new TypeError("Cannot make a handle: expected a Deno.Conn or a { reader, writer } pair");
}
