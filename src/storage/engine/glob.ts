// Redis's KEYS pattern language over bytes, with Redis's semantics (its stringmatchlen):
// `*` any run of bytes, `?` one byte, `[abc]` `[^abc]` `[a-z]` (a reversed range is swapped)
// one byte of a class, `\x` the byte x literally (also inside a class). A class left open
// at the pattern's end takes the rest of the pattern as its members, as Redis does.
const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

/** Whether `subject` matches the glob `pattern`. */
export function globMatch(pattern: Uint8Array, subject: Uint8Array): boolean {
  // `givenUp` stops retrying a star once a later star has failed at every position: the
  // first star's remaining choices cannot succeed either (what keeps a*a*a*b linear-ish).
  const state = { givenUp: false };
  return matchFrom(pattern, 0, subject, 0, state);
}

function matchFrom(
  pattern: Uint8Array,
  p: number,
  subject: Uint8Array,
  s: number,
  state: { givenUp: boolean },
): boolean {
  while (p < pattern.length && s < subject.length) {
    const c = pattern[p]!;
    if (c === STAR) {
      while (p + 1 < pattern.length && pattern[p + 1] === STAR) p++;
      if (p + 1 === pattern.length) return true;
      for (; s < subject.length; s++) {
        if (matchFrom(pattern, p + 1, subject, s, state)) return true;
        if (state.givenUp) return false;
      }
      state.givenUp = true;
      return false;
    }
    if (c === QUESTION) {
      s++;
    } else if (c === OPEN) {
      const end = matchClass(pattern, p + 1, subject[s]!);
      if (end.next < 0) return false;
      p = end.next - 1;
      s++;
    } else {
      if (c === BACKSLASH && p + 1 < pattern.length) p++;
      if (pattern[p] !== subject[s]) return false;
      s++;
    }
    p++;
  }
  // The subject is used up: only stars may remain of the pattern.
  while (p < pattern.length && pattern[p] === STAR) p++;
  return p === pattern.length && s === subject.length;
}

/**
 * Matches one byte against the class starting at `p` (just after `[`). Returns the index of
 * the pattern byte after the class (`next`), or -1 when the byte is not in it.
 */
function matchClass(pattern: Uint8Array, p: number, byte: number): { next: number } {
  const negate = pattern[p] === CARET;
  if (negate) p++;
  let found = false;
  for (;;) {
    if (p >= pattern.length) break; // an open class ends with the pattern
    const c = pattern[p]!;
    if (c === BACKSLASH && p + 1 < pattern.length) {
      p++;
      if (pattern[p] === byte) found = true;
    } else if (c === CLOSE) {
      p++;
      break;
    } else if (p + 2 < pattern.length && pattern[p + 1] === DASH) {
      let lo = c;
      let hi = pattern[p + 2]!;
      if (lo > hi) [lo, hi] = [hi, lo];
      if (byte >= lo && byte <= hi) found = true;
      p += 2;
    } else if (c === byte) {
      found = true;
    }
    p++;
  }
  return { next: found !== negate ? p : -1 };
}

/**
 * The bytes every match must start with: the pattern up to its first special byte, escapes
 * resolved. Lets an ordered store scan only that range.
 */
export function literalPrefix(pattern: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let p = 0; p < pattern.length; p++) {
    const c = pattern[p]!;
    if (c === STAR || c === QUESTION || c === OPEN) break;
    if (c === BACKSLASH) {
      if (p + 1 >= pattern.length) break;
      p++;
    }
    out.push(pattern[p]!);
  }
  return Uint8Array.from(out);
}
