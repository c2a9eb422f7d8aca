/**
 * Whole numbers in a range: the most common field of the config (limits, timeouts, sizes,
 * counts), so each section states only the bounds and the default of each.
 */
import { z } from "zod";

export const int = (min: number, max: number = Number.MAX_SAFE_INTEGER) =>
  z.number().int().min(min).max(max);

/** A setting's lowest and highest accepted value and its value when omitted. */
type Range = readonly [min: number, max: number, fallback: number];

/**
 * A config section of whole-number settings only, from a table `name: [min, max, default]`;
 * unknown keys are rejected, and an omitted section (or key) takes the defaults.
 */
export function wholeNumbers<const T extends Record<string, Range>>(table: T) {
  const shape = Object.fromEntries(
    Object.entries(table).map(([name, [min, max, fallback]]) => [
      name,
      int(min, max).default(fallback),
    ]),
  ) as { [K in keyof T]: z.ZodDefault<z.ZodNumber> };
  // prefault: an omitted section is parsed as `{}`, so each field's own default applies.
  return z.strictObject(shape).prefault({} as z.input<z.ZodObject<typeof shape>>);
}
