/**
 * {@linkcode Transport}: the one interface the handle does its I/O through.
 *
 * @module
 */

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
  /**
   * The TCP connection a transport makes itself (`Handle.connect`), once made: Deno's native
   * TLS can start on it.
   */
  readonly tcpConnection?: Promise<Deno.TcpConn>;
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
