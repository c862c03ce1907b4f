/**
 * The RegExp copies the text decoders search with, made once per pattern: a read re-pushed
 * for every frame (`pushRead("regex", accept, cb)` from its own callback) used to compile its
 * patterns again each time.
 *
 * @module
 */

const copies = { g: new WeakMap<RegExp, RegExp>(), plain: new WeakMap<RegExp, RegExp>() };

/**
 * A copy of `re` to search with. For `"g"`: with `g` and without `y`, so that `exec` from
 * `lastIndex` 0 finds the first match anywhere. For `"plain"`: without `g`, so that `test`
 * starts from `lastIndex` 0. A copy is shared by every decoder of `re`, which is safe because
 * a decoder sets `lastIndex` before each search and searches synchronously.
 *
 * @param re The caller's pattern (never changed).
 * @param kind Which copy.
 * @returns The copy.
 */
export function regexpCopy(re: RegExp, kind: "g" | "plain"): RegExp {
  const made = copies[kind];
  let copy = made.get(re);
  if (copy === undefined) {
    const flags = kind === "g" ? re.flags.replace(/[gy]/g, "") + "g" : re.flags.replace("g", "");
    made.set(re, copy = new RegExp(re.source, flags));
  }
  return copy;
}
