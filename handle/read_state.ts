/**
 * The read side's state: where the input stands, as one named state and a table of its
 * transitions. Every end-of-input rule of the handle follows from this table; `ReadSide` asks
 * it instead of combining flags.
 *
 * ```text
 *  state   | reads start     | dispatch runs            | what moves it on
 *  --------+-----------------+--------------------------+------------------------------------
 *  open    | while wanted    | queue, then onRead       | end (the transport said end of input)
 *          | (not if stopped)| (not onRead if stopped)  |   -> ending, or held while stopped
 *  held    | never           | the queue only           | start (startRead) -> ending
 *  ending  | never           | queue fed what remains,  | take (an iterator step or promise read
 *          |                 | then the end is reported |   took the end) -> taken;
 *          |                 | (onEof, else fatal EPIPE)|   report -> ended
 *  taken   | never           | as ending                | report (onEof if set, no EPIPE) -> ended
 *  ended   | never           | queue, onRead            | -
 *  closed  | never           | nothing                  | -   (from every state: close)
 * ```
 *
 * `held` is AnyEvent's behaviour: with reading stopped it would not have read the end yet, so
 * the end waits until `startRead()`; a read queued meanwhile is not failed by it.
 *
 * @module
 */

/** Where the input stands (see the table in this module's documentation). */
export type ReadState = "open" | "held" | "ending" | "taken" | "ended" | "closed";

/** What happens to the input. */
export type ReadEvent = "end" | "endWhileStopped" | "start" | "take" | "report" | "close";

const TRANSITIONS: Readonly<Record<ReadState, Partial<Record<ReadEvent, ReadState>>>> = {
  open: { end: "ending", endWhileStopped: "held", close: "closed" },
  held: { start: "ending", close: "closed" },
  ending: { take: "taken", report: "ended", close: "closed" },
  taken: { take: "taken", report: "ended", close: "closed" },
  ended: { close: "closed" },
  closed: {},
};

/**
 * The state after `event`, or the same state where the event means nothing there (a second
 * `close`, a `start` while open).
 *
 * @param state The state now.
 * @param event What happened.
 * @returns The next state.
 */
export function nextReadState(state: ReadState, event: ReadEvent): ReadState {
  return TRANSITIONS[state][event] ?? state;
}

/**
 * Whether end of input has been seen and is being, or has been, given to the readers.
 *
 * @param state The state.
 * @returns Whether decoders are told the input has ended.
 */
export function atEnd(state: ReadState): boolean {
  return state === "ending" || state === "taken" || state === "ended";
}

/**
 * Whether the end still has to be reported (onEof, or the fatal EPIPE without it).
 *
 * @param state The state.
 * @returns Whether a report is due once the queue is empty.
 */
export function endUnreported(state: ReadState): boolean {
  return state === "ending" || state === "taken";
}
