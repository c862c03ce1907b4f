/**
 * {@linkcode Timeouts}: the three inactivity timers of a handle (any I/O, reads, writes).
 *
 * @module
 */

/** The timer names, as the options call them. */
export type TimeoutKind = "timeout" | "rtimeout" | "wtimeout";

const KINDS: readonly TimeoutKind[] = ["timeout", "rtimeout", "wtimeout"];

/**
 * Checks a timeout in seconds.
 *
 * @param kind The option's name, for the message.
 * @param seconds The value.
 * @returns The value (0 = off).
 * @throws {RangeError} If it is negative or not a finite number.
 */
export function checkTimeout(kind: string, seconds: number): number {
  if (!(seconds >= 0) || !Number.isFinite(seconds)) {
    throw new RangeError(`Cannot use ${kind} "${seconds}": expected seconds >= 0 (0 is off)`);
  }
  return seconds;
}

/**
 * Inactivity timers in the style of AnyEvent::Handle: reads and writes only record a
 * timestamp (O(1), no timer is touched per chunk); one timer per kind wakes up when the period
 * could have passed, checks the timestamp, and either fires and re-arms for a full period, or
 * sleeps for the rest.
 */
export class Timeouts {
  readonly #periods: Record<TimeoutKind, number> = { timeout: 0, rtimeout: 0, wtimeout: 0 };
  readonly #last: Record<TimeoutKind, number> = { timeout: 0, rtimeout: 0, wtimeout: 0 };
  readonly #timers: Record<TimeoutKind, ReturnType<typeof setTimeout> | undefined> = {
    timeout: undefined,
    rtimeout: undefined,
    wtimeout: undefined,
  };
  readonly #expired: (kind: TimeoutKind) => void;
  #running = false;

  /** @param expired Called when a timer expires (the handle reports it). */
  constructor(expired: (kind: TimeoutKind) => void) {
    this.#expired = expired;
  }

  /**
   * The period of a timer in seconds.
   *
   * @param kind Which timer.
   * @returns Its period (0 = off).
   */
  get(kind: TimeoutKind): number {
    return this.#periods[kind];
  }

  /**
   * Sets a period; takes effect at once and may fire before returning, measured from the last
   * activity.
   *
   * @param kind Which timer.
   * @param seconds The period (0 = off).
   */
  set(kind: TimeoutKind, seconds: number): void {
    this.#periods[kind] = checkTimeout(kind, seconds);
    if (this.#running) this.#check(kind);
  }

  /**
   * Starts the timers (once the connection exists), counting from the last activity.
   *
   * @param readAt When the last read succeeded (`performance.now()`).
   * @param writeAt When the last write succeeded.
   */
  start(readAt: number, writeAt: number): void {
    if (this.#running) return;
    this.#running = true;
    this.#last.timeout = Math.max(readAt, writeAt);
    this.#last.rtimeout = readAt;
    this.#last.wtimeout = writeAt;
    for (const kind of KINDS) this.#check(kind);
  }

  /** Stops every timer for good. */
  stop(): void {
    this.#running = false;
    for (const kind of KINDS) {
      clearTimeout(this.#timers[kind]);
      this.#timers[kind] = undefined;
    }
  }

  /**
   * Marks activity for a timer now.
   *
   * @param kind Which timer.
   */
  reset(kind: TimeoutKind): void {
    this.#last[kind] = performance.now();
  }

  /** A read happened: resets `timeout` and `rtimeout`. */
  readActivity(): void {
    const now = performance.now();
    this.#last.timeout = now;
    this.#last.rtimeout = now;
  }

  /** A write happened: resets `timeout` and `wtimeout`. */
  writeActivity(): void {
    const now = performance.now();
    this.#last.timeout = now;
    this.#last.wtimeout = now;
  }

  #check(kind: TimeoutKind): void {
    clearTimeout(this.#timers[kind]);
    this.#timers[kind] = undefined;
    const period = this.#periods[kind] * 1000;
    if (!this.#running || period === 0) return;
    const now = performance.now();
    const left = this.#last[kind] + period - now;
    if (left <= 0) {
      this.#last[kind] = now; // the next period counts from the expiry, as in AnyEvent
      this.#expired(kind);
      this.#check(kind); // re-arms for a full period (the callback may have changed it)
    } else {
      this.#timers[kind] = setTimeout(() => this.#check(kind), left);
    }
  }
}
