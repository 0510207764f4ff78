// Flag readers shared by the binaries that parse with yargs directly (rafttoy-sim, the
// soak): each refuses bad input with a one-line UsageError (exit 2).
import { UsageError } from "../errors/errors.js";

/** The flag's value as a whole number in min..max (an empty value is refused too). */
export function intInRange(flag: string, value: unknown, min: number, max: number): number {
  const text = String(value);
  const n = Number(text);
  if (text.trim() === "" || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer in ${min}..${max}, got "${text}"`);
  }
  return n;
}
