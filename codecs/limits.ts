/**
 * Frame length limits shared by the codecs: validation of `maxLength` and the handle-wide
 * default (`maxFrameLength`).
 *
 * @module
 */
import type { CodecSettings } from "../base/codec.ts";

/** The default `maxLength` of every framing: 1 MiB. */
export const DEFAULT_MAX_FRAME_LENGTH = 1024 * 1024;

/**
 * Checks a `maxLength` option and applies the defaults: the option if given, else the
 * `maxFrameLength` of the handle creating the decoder, else `fallback`.
 *
 * @param maxLength The option as given.
 * @param fallback The codec's own default.
 * @param settings The settings of the handle creating the decoder.
 * @returns The limit in bytes (`Infinity` when asked for).
 * @throws {RangeError} If it is not a positive integer or `Infinity`.
 *
 * @example Resolving a limit
 * ```ts
 * import { frameLimit } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * assert.equal(frameLimit(undefined, 1024), 1024);
 * assert.equal(frameLimit(10, 1024), 10);
 * assert.equal(frameLimit(undefined, 1024, { maxFrameLength: 64 }), 64);
 * assert.throws(() => frameLimit(0, 1024), RangeError);
 * ```
 */
export function frameLimit(
  maxLength: number | undefined,
  fallback: number,
  settings?: CodecSettings,
): number {
  const value = maxLength ?? settings?.maxFrameLength ?? fallback;
  if (!(value > 0) || (!Number.isSafeInteger(value) && value !== Infinity)) {
    throw new RangeError(
      `Cannot use maxLength "${value}": expected a positive integer or Infinity`,
    );
  }
  return value;
}
