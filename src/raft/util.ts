// Small helpers shared by the core's modules: entry sizes, size-limited slicing and
// byte-string keys. Sizes count payload bytes only (what the application proposed), so a
// limit means the same thing whatever the wire encoding.
//
// Sizes read `data.length`, not `data.byteLength`: the two are equal for a Uint8Array, but
// Node 20's optimizing compiler inlines the first and calls out for the second, which
// measured about ten times slower per entry in a loop over a batch.
import type { Entry } from "./types.js";

/** Payload bytes of one entry. */
export function entrySize(e: Entry): number {
  return e.data.length;
}

/** Payload bytes of a run of entries. */
export function entriesSize(ents: readonly Entry[]): number {
  let size = 0;
  for (let i = 0; i < ents.length; i++) size += ents[i]!.data.length;
  return size;
}

/**
 * The end (exclusive) of the longest run ents[start..end) within `maxSize` bytes, never
 * shorter than one entry; lets callers cut before copying.
 */
export function limitEnd(
  ents: readonly Entry[],
  start: number,
  end: number,
  maxSize: number,
): number {
  if (end - start <= 1 || maxSize === Number.POSITIVE_INFINITY) return end;
  let size = ents[start]!.data.length;
  for (let i = start + 1; i < end; i++) {
    size += ents[i]!.data.length;
    if (size > maxSize) return i;
  }
  return end;
}

/** A string usable as a Map key that stands for exactly these bytes. */
export function bytesKey(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** Appends `src` to `dst` in place without spreading (safe for very long arrays). */
export function pushAll<T>(dst: T[], src: readonly T[]): void {
  for (let i = 0; i < src.length; i++) dst.push(src[i]!);
}
