import assert from "node:assert/strict";
import { test } from "node:test";
import { globMatch, literalPrefix } from "./glob.js";

const l = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));

test("glob: Redis's KEYS pattern semantics, edge cases included", () => {
  const cases: [pattern: string, subject: string, matches: boolean][] = [
    ["*", "", true],
    ["*", "anything", true],
    ["", "", true],
    ["", "a", false],
    ["a*", "a", true],
    ["*a", "ba", true],
    ["*a", "ab", false],
    ["a**b", "axxb", true],
    ["a*b*c", "abc", true],
    ["a*b*c", "acb", false],
    ["?", "", false],
    ["?", "\u0000", true],
    ["??", "a", false],
    ["h?llo", "hello", true],
    ["h[ae]llo", "hallo", true],
    ["h[ae]llo", "hillo", false],
    ["h[^e]llo", "hallo", true],
    ["h[^e]llo", "hello", false],
    ["h[a-c]llo", "hbllo", true],
    ["h[c-a]llo", "hbllo", true], // a reversed range is swapped
    ["h[a-c]llo", "hdllo", false],
    ["[\\]]", "]", true],
    ["[\\-]", "-", true],
    ["[a-]", "]", true], // Redis reads "a-]" as the range a..]
    ["\\*", "*", true],
    ["\\*", "a", false],
    ["\\?x", "?x", true],
    ["a\\", "a\\", true], // a trailing backslash is itself
    ["[abc", "b", true], // a class open at the end takes the rest of the pattern
    ["[abc", "d", false],
    ["[", "a", false],
    ["[^", "a", true],
    ["[]", "a", false],
    ["*\r\n*", "x\r\ny", true],
    ["\u0000*", "\u0000\u00ff", true],
    ["[\u0000-\u0001]", "\u0001", true],
    ["*[0-9]", "key7", true],
    ["a*a*a*a*a*a*a*a*b", "a".repeat(40), false],
  ];
  for (const [pattern, subject, matches] of cases) {
    assert.equal(
      globMatch(l(pattern), l(subject)),
      matches,
      `${JSON.stringify(pattern)} vs ${JSON.stringify(subject)}`,
    );
  }
});

test("glob: the literal prefix ends at the first special byte, escapes resolved", () => {
  assert.deepEqual(literalPrefix(l("user:*")), l("user:"));
  assert.deepEqual(literalPrefix(l("a\\*b?c")), l("a*b"));
  assert.deepEqual(literalPrefix(l("[ab]")), l(""));
  assert.deepEqual(literalPrefix(l("plain")), l("plain"));
  assert.deepEqual(literalPrefix(l("x\\")), l("x"));
});
