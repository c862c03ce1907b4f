/**
 * The steps of a script, and how a failure message names them.
 *
 * @module
 */
import { describeBytes } from "./_hex.ts";

/** One step of a script, with what the run has done of it so far. */
export type Step =
  | { kind: "send"; chunks: Uint8Array[] }
  | { kind: "expect"; bytes: Uint8Array; matched: number }
  | { kind: "wait"; ms: number }
  | { kind: "end" }
  | { kind: "reset" }
  | { kind: "expectEnd" };

/** Whether the handle's output has already met `step` (writes may run ahead of a wait). */
export function met(step: Step, writeEnded: boolean): boolean {
  if (step.kind === "expect") return step.matched === step.bytes.length;
  if (step.kind === "expectEnd") return writeEnded;
  return false;
}

/** `step 3 expect`: steps count from 1, as a person counts the lines of a script. */
export function stepName(steps: readonly Step[], index: number): string {
  if (steps.length === 0) return "step 0 (the script is empty)";
  if (index >= steps.length) return `step ${steps.length} ${steps[steps.length - 1].kind}`;
  return `step ${index + 1} ${steps[index].kind}`;
}

/** The lines that show what an expect step wanted and what it got so far. */
export function expectLines(step: Step | undefined, actual?: Uint8Array, at = 0): string {
  if (step?.kind !== "expect") {
    return actual === undefined ? "" : `\n  expected: (none)\n  actual:   ${describeBytes(actual)}`;
  }
  const got = actual ?? step.bytes.subarray(0, step.matched);
  return `\n  expected: ${describeBytes(step.bytes, at)}\n  actual:   ${describeBytes(got, at)}`;
}
