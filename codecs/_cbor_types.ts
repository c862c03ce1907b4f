/**
 * The `cbor` entries of `ReadTypes` / `WriteTypes`, in a module of types only: `deno check`
 * with several roots drops an augmentation that stands in a module importing an npm package.
 *
 * @module
 */
import type { CborOptions } from "./cbor.ts";

declare module "./registry.ts" {
  interface ReadTypes {
    /** `pushRead("cbor", [options,] (h, value) => ...)`: one CBOR data item (`@anyevent/handle/cbor`). */
    cbor: { args: [] | [options: CborOptions]; values: [value: unknown] };
  }
  interface WriteTypes {
    /** `pushWrite("cbor", value)`: the value as one CBOR data item (`@anyevent/handle/cbor`). */
    cbor: [value: unknown];
  }
}
