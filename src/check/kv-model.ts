// The key-value service's sequential specification for one key (histories are checked per
// key, so a state is what one key holds): absent, a string, or a list. It follows Redis,
// which the service speaks: INCR of an absent key starts from 0, a list emptied by a pop
// disappears, a command on the wrong kind of value is refused with WRONGTYPE and changes
// nothing.
//
// States are encoded as strings: "-" absent, "=" + value a string, "[" + items a list
// (see list()), and "?" unknown — used only when a window of a history is checked on its own
// (window.ts): from "?" every reply is believed and what can be learned from it becomes the
// state, so a window that fails from "?" fails from every state.
import type { KvInput, KvOutput } from "./history.js";
import type { Model } from "./model.js";

export const ABSENT = "-";
export const UNKNOWN = "?";

const WRONG_TYPE = "wrong-type";
const NOT_INTEGER = "not-integer";

/** Integers as Redis writes them back: an optional minus sign, no leading zeros, no "+". */
const REDIS_INTEGER = /^-?(0|[1-9][0-9]*)$/;

function str(value: string): string {
  return `=${value}`;
}

// A list: "[" + its length + "|" + each item as its length, ":" and its bytes. Pushing on
// the right appends and popping on the left cuts a prefix, without decoding the rest.
function list(items: readonly string[]): string {
  return items.length === 0 ? ABSENT : `[${items.length}|${items.map(encodeItem).join("")}`;
}

function encodeItem(item: string): string {
  return `${item.length}:${item}`;
}

function listLength(state: string): number {
  return Number(state.slice(1, state.indexOf("|")));
}

function listItems(state: string): string[] {
  const items: string[] = [];
  let at = state.indexOf("|") + 1;
  while (at < state.length) {
    const colon = state.indexOf(":", at);
    const length = Number(state.slice(at, colon));
    items.push(state.slice(colon + 1, colon + 1 + length));
    at = colon + 1 + length;
  }
  return items;
}

function pushRight(state: string, item: string): string {
  if (state === ABSENT) return `[1|${encodeItem(item)}`;
  const bar = state.indexOf("|");
  return `[${Number(state.slice(1, bar)) + 1}${state.slice(bar)}${encodeItem(item)}`;
}

/** The first item and the list without it. */
function popLeft(state: string): [string, string] {
  const bar = state.indexOf("|");
  const length = Number(state.slice(1, bar));
  const colon = state.indexOf(":", bar);
  const itemLength = Number(state.slice(bar + 1, colon));
  const item = state.slice(colon + 1, colon + 1 + itemLength);
  const rest = length === 1 ? ABSENT : `[${length - 1}|${state.slice(colon + 1 + itemLength)}`;
  return [item, rest];
}

function isError(output: KvOutput, code: string): boolean {
  return typeof output === "object" && output !== null && output.error === code;
}

/** Accepts `actual` when nothing was recorded, or when it is exactly what the spec replies. */
function replied(output: KvOutput, expected: string | number | null): boolean {
  return output === undefined || output === expected;
}

function refused(output: KvOutput, code: string): boolean {
  return output === undefined || isError(output, code);
}

export const kvModel: Model<KvInput, KvOutput> = {
  initial: ABSENT,

  step(state, input, output) {
    if (state === UNKNOWN) return fromUnknown(input, output);
    const kind = state[0];
    switch (input.f) {
      case "get":
        if (kind === "[") return refused(output, WRONG_TYPE) ? state : undefined;
        return replied(output, kind === "=" ? state.slice(1) : null) ? state : undefined;
      case "set":
        return output === undefined || output === "OK" ? str(input.value) : undefined;
      case "del":
        return replied(output, state === ABSENT ? 0 : 1) ? ABSENT : undefined;
      case "incr": {
        if (kind === "[") return refused(output, WRONG_TYPE) ? state : undefined;
        const current = kind === "=" ? state.slice(1) : "0";
        if (!REDIS_INTEGER.test(current)) return refused(output, NOT_INTEGER) ? state : undefined;
        const next = Number(current) + input.by;
        return replied(output, next) ? str(String(next)) : undefined;
      }
      case "push": {
        if (kind === "=") return refused(output, WRONG_TYPE) ? state : undefined;
        const length = kind === "[" ? listLength(state) + 1 : 1;
        if (!replied(output, length)) return undefined;
        if (input.end === "right") return pushRight(state, input.value);
        return list([input.value, ...(kind === "[" ? listItems(state) : [])]);
      }
      case "pop": {
        if (kind === "=") return refused(output, WRONG_TYPE) ? state : undefined;
        if (kind !== "[") return replied(output, null) ? state : undefined;
        let item: string;
        let rest: string;
        if (input.end === "left") [item, rest] = popLeft(state);
        else {
          const items = listItems(state);
          item = items.pop() as string;
          rest = list(items);
        }
        if (input.taken?.has(item)) return undefined;
        return replied(output, item) ? rest : undefined;
      }
    }
  },

  describe(state) {
    if (state === ABSENT) return "absent";
    if (state === UNKNOWN) return "unknown";
    if (state[0] === "=") return JSON.stringify(state.slice(1));
    return `list ${JSON.stringify(listItems(state))}`;
  },
};

/** What a reply teaches about a key whose state is unknown (see the header). */
function fromUnknown(input: KvInput, output: KvOutput): string {
  switch (input.f) {
    case "get":
      if (typeof output === "string") return str(output);
      return output === null ? ABSENT : UNKNOWN;
    case "set":
      return str(input.value);
    case "del":
      return ABSENT;
    case "incr":
      return typeof output === "number" ? str(String(output)) : UNKNOWN;
    case "push":
    case "pop":
      return output === null ? ABSENT : UNKNOWN;
  }
}
