/**
 * {@linkcode WriteQueue}: the bytes a handle has been asked to write and has not yet handed
 * to the transport.
 *
 * @module
 */

/** Byte arrays shorter than this are copied into the open buffer; longer ones stand alone. */
const COALESCE_BELOW = 16 * 1024;
/**
 * The largest open buffer: the largest batch small writes are coalesced into. Just under 64
 * KiB: over loopback TCP (MSS 65,483) a 64 KiB write leaves as a full segment and a 53-byte
 * one, and a writer of 64 KiB writes moved 30-35% fewer bytes than one of 63 KiB writes here.
 */
export const BUFFER_SIZE = 63 * 1024;
/** The smallest open buffer: a lone reply allocates little, a burst doubles from here. */
const MIN_BUFFER_SIZE = 256;

const encoder = new TextEncoder();

/**
 * Open buffers that have left in full, shared by every handle: free lists per power-of-two
 * size from `MIN_BUFFER_SIZE` to `BUFFER_SIZE`, a few each, so that the bursts of many handles
 * reuse memory instead of allocating (and zeroing) a buffer each.
 */
const POOL: Uint8Array[][] = [];
/** Buffers kept per size: at most about 2 MiB in all. */
const POOL_DEPTH = 16;

/**
 * 0 for `MIN_BUFFER_SIZE`, 1 for twice that, ...: the power of two a size rounds up to (sizes
 * are powers of two, but for `BUFFER_SIZE`, alone in the last class).
 */
function sizeClass(size: number): number {
  return Math.clz32(MIN_BUFFER_SIZE - 1) - Math.clz32(size - 1);
}

/** The memory of every open buffer: a batch cut from one may go back to the pool. */
const OPEN_BUFFERS = new WeakSet<ArrayBufferLike>();

/** Bytes of open buffers allocated so far, by every handle. */
let allocatedBytes = 0;

/**
 * How many bytes of open buffers the write queues have allocated so far (not reused from the
 * pool): a stream of writes should stop adding to it once it has its buffers.
 *
 * @example
 * ```ts
 * import { openBufferBytes } from "./write_queue.ts";
 * const before = openBufferBytes();
 * // ... writes ...
 * console.log(`${openBufferBytes() - before} bytes of fresh write buffers`);
 * ```
 *
 * @returns The total, in bytes.
 */
export function openBufferBytes(): number {
  return allocatedBytes;
}

function fromPool(size: number): Uint8Array {
  const reused = POOL[sizeClass(size)]?.pop();
  if (reused !== undefined) return reused;
  allocatedBytes += size;
  const fresh = new Uint8Array(size);
  OPEN_BUFFERS.add(fresh.buffer);
  return fresh;
}

function toPool(buffer: Uint8Array): void {
  const list = POOL[sizeClass(buffer.length)] ??= [];
  if (list.length < POOL_DEPTH) list.push(buffer);
}

/**
 * An ordered queue of byte chunks ending in an *open buffer*: small writes are copied once,
 * straight into the buffer the writer will hand to the transport, so a small write allocates
 * nothing. Short arrays are copied with `set`; short strings are joined and encoded once per
 * batch (one `encodeInto` for all the text pushed since the last one). A large
 * array is copied once into an array of its own. The writer takes a batch at a time: the next
 * chunk, or the open buffer, which is then sealed. While a stream of writes goes on, a buffer
 * that has left in full is filled again, so the stream alternates between two buffers; a lone
 * reply costs one small buffer, and an idle handle keeps none.
 *
 * Bytes of a batch that the transport accepted only in part stay with the writer ("in
 * flight"), so `unshift` always goes after them and the byte order on the wire is the queue
 * order.
 */
export class WriteQueue {
  /** Sealed chunks, oldest first, from `#head`. */
  #chunks: Uint8Array[] = [];
  #head = 0;
  /** The open buffer and how much of it is filled. */
  #open: Uint8Array | undefined = undefined;
  #filled = 0;
  /** A buffer that has left in full, ready to be the next open buffer. */
  #spare: Uint8Array | undefined = undefined;
  /** The memory of the last open buffer handed out as a batch: the one that may be reused. */
  #taken: Uint8Array | undefined = undefined;
  /**
   * The size the next open buffer starts at: what the last batch of small writes needed, or
   * the full size after a burst that filled one (a stream).
   */
  #hint = MIN_BUFFER_SIZE;
  /** A full open buffer was sealed since the last batch: the writes are a stream. */
  #streaming = false;
  #queued = 0;
  #inFlight = 0;
  /**
   * Text pushed since the last batch and not yet encoded: the strings are joined (a rope, as
   * a `+=` makes) and encoded with one `encodeInto` when the bytes are needed, so a small
   * string write costs about what a string concatenation costs. Always the last bytes of the
   * queue: anything else pushed encodes it first.
   */
  #text = "";
  /** `#text.length`, kept as a sum: the fewest bytes it can encode to (1 per UTF-16 unit). */
  #textUnits = 0;

  /** Bytes not yet accepted by the transport: queued plus in flight (exact: encodes text). */
  get pending(): number {
    if (this.#textUnits > 0) this.#encodeText();
    return this.#queued + this.#inFlight;
  }

  /**
   * An upper bound of `pending` that encodes nothing: the exact figure is needed only when
   * this passes a limit.
   */
  get pendingAtMost(): number {
    return this.#queued + this.#inFlight + this.#textUnits * 3;
  }

  /** A lower bound of `pending` that encodes nothing (text as if it were ASCII). */
  get pendingAtLeast(): number {
    return this.#queued + this.#inFlight + this.#textUnits;
  }

  /** Bytes queued and not yet handed to the writer (exact: encodes text). */
  get queued(): number {
    if (this.#textUnits > 0) this.#encodeText();
    return this.#queued;
  }

  /** An upper bound of `queued` that encodes nothing. */
  get queuedAtMost(): number {
    return this.#queued + this.#textUnits * 3;
  }

  /**
   * Appends a copy of `bytes` at the end of the queue.
   *
   * @param bytes Bytes the caller keeps.
   */
  pushCopy(bytes: Uint8Array): void {
    const n = bytes.length;
    const open = this.#open;
    const filled = this.#filled;
    // The usual case first: no text waiting, and room in the open buffer.
    if (open !== undefined && this.#textUnits === 0 && open.length - filled >= n) {
      open.set(bytes, filled);
      this.#filled = filled + n;
      this.#queued += n;
      return;
    }
    if (n === 0) return;
    if (this.#textUnits > 0) this.#encodeText();
    if (n >= COALESCE_BELOW) return this.push(bytes.slice());
    this.#room(n).set(bytes, this.#filled);
    this.#filled += n;
    this.#queued += n;
  }

  /**
   * Appends the UTF-8 encoding of `text` at the end of the queue.
   *
   * @param text The text.
   */
  pushText(text: string): void {
    const units = text.length;
    if (units === 0) return;
    // A long text is encoded on its own, like a long array (one UTF-16 unit: up to 3 bytes).
    if (units * 3 >= COALESCE_BELOW) return this.push(encoder.encode(text));
    // The joined text is encoded about a full buffer at a time.
    if (this.#textUnits + units > BUFFER_SIZE) this.#encodeText();
    this.#text += text;
    this.#textUnits += units;
  }

  /**
   * Encodes the joined text into the open buffer with one `encodeInto`, and what does not fit
   * into fresh ones: room is asked for as if the text were ASCII (the usual case, then exact),
   * and only for a rest that did not fit, as if every unit took 3 bytes.
   */
  #encodeText(): void {
    let text = this.#text;
    let need = this.#textUnits;
    this.#text = "";
    this.#textUnits = 0;
    for (;;) {
      const open = this.#room(Math.min(need, BUFFER_SIZE));
      const { read, written } = encoder.encodeInto(text, open.subarray(this.#filled));
      this.#filled += written;
      this.#queued += written;
      if (read === text.length) return;
      text = text.slice(read);
      need = text.length * 3;
    }
  }

  /**
   * Appends bytes the queue now owns at the end of the queue: a short array is copied into the
   * open buffer all the same (so typed writes coalesce like raw ones), a long one is kept.
   *
   * @param bytes Bytes nobody else writes to.
   */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (bytes.length < COALESCE_BELOW) return this.pushCopy(bytes);
    if (this.#textUnits > 0) this.#encodeText();
    this.#seal();
    this.#chunks.push(bytes);
    this.#queued += bytes.length;
  }

  /**
   * Puts bytes in front of everything not yet handed to the writer.
   *
   * @param bytes Bytes the queue now owns.
   */
  unshift(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.#textUnits > 0) this.#encodeText();
    this.#seal();
    if (this.#head > 0) this.#chunks[--this.#head] = bytes;
    else this.#chunks.unshift(bytes);
    this.#queued += bytes.length;
  }

  /**
   * Hands the next batch to the writer; its bytes count as in flight until `written`.
   *
   * @returns The batch, or `undefined` when nothing is queued.
   */
  takeBatch(): Uint8Array | undefined {
    if (this.#textUnits > 0) this.#encodeText();
    const chunks = this.#chunks;
    let batch: Uint8Array;
    if (this.#head < chunks.length) {
      batch = chunks[this.#head];
      chunks[this.#head++] = undefined!;
      if (this.#head === chunks.length) {
        chunks.length = 0;
        this.#head = 0;
      }
    } else if (this.#filled > 0) {
      batch = this.#open!.subarray(0, this.#filled);
      this.#taken = this.#open;
      this.#hint = this.#streaming ? BUFFER_SIZE : this.#filled;
      this.#streaming = false;
      this.#open = undefined;
      this.#filled = 0;
    } else return undefined;
    this.#queued -= batch.length;
    this.#inFlight += batch.length;
    return batch;
  }

  /**
   * Records that the transport accepted `n` bytes of the batch in flight.
   *
   * @param n Bytes written.
   */
  written(n: number): void {
    this.#inFlight -= n;
  }

  /**
   * The writer is done with a batch (written in full): an open buffer it came from may be
   * filled again.
   *
   * @param batch The batch `takeBatch` returned.
   */
  release(batch: Uint8Array): void {
    // Kept only while more is queued (a stream): an idle handle holds no buffer.
    const whole = this.#taken;
    if (whole === undefined || batch.buffer !== whole.buffer) {
      // A full open buffer that was sealed during a burst has left too: pool it.
      if (batch.byteOffset === 0 && OPEN_BUFFERS.has(batch.buffer)) {
        toPool(new Uint8Array(batch.buffer));
      }
      return;
    }
    this.#taken = undefined;
    if (this.#queued > 0 && this.#spare === undefined) this.#spare = whole;
    else toPool(whole);
  }

  /** Drops everything, queued and in flight. */
  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#open = this.#spare = this.#taken = undefined;
    this.#filled = 0;
    this.#queued = 0;
    this.#inFlight = 0;
    this.#text = "";
    this.#textUnits = 0;
    this.#streaming = false;
  }

  /**
   * The open buffer, with room for `n` more bytes: it doubles (up to `BUFFER_SIZE`) while it
   * holds a burst, and a full one is sealed for a fresh one.
   */
  #room(n: number): Uint8Array {
    const open = this.#open;
    const filled = this.#filled;
    if (open !== undefined) {
      if (open.length - filled >= n) return open;
      if (open.length < BUFFER_SIZE && filled + n <= BUFFER_SIZE) {
        let size = open.length * 2;
        while (size < filled + n) size *= 2;
        const next = this.#buffer(Math.min(size, BUFFER_SIZE));
        next.set(open.subarray(0, filled));
        toPool(open); // never handed out: only a batch or a sealed chunk is
        return this.#open = next;
      }
      this.#seal();
      this.#streaming = true;
      // A full buffer sealed: the burst goes on, so the next one starts at full size.
      return this.#open = this.#buffer(BUFFER_SIZE);
    }
    // As big as the last batch of small writes was: a burst of replies fits at once.
    let size = MIN_BUFFER_SIZE;
    while (size < n || (size < this.#hint && size < BUFFER_SIZE)) size *= 2;
    return this.#open = this.#buffer(Math.min(size, BUFFER_SIZE));
  }

  /** A buffer of `size` bytes: the spare one if it is that big, else a new one. */
  #buffer(size: number): Uint8Array {
    const spare = this.#spare;
    if (spare !== undefined && spare.length >= size) {
      this.#spare = undefined;
      return spare;
    }
    return fromPool(size);
  }

  /** Closes the open buffer: its bytes become a chunk, after those before them. */
  #seal(): void {
    if (this.#filled > 0) this.#chunks.push(this.#open!.subarray(0, this.#filled));
    this.#open = undefined;
    this.#filled = 0;
  }
}
