// The API's problem+json field errors, for forms to show beside their fields.
import { ApiError, type FieldError } from "./api";

/**
 * The field errors of an error, their pointers relative to `prefix` ("/rule" for the rule
 * builder's checks): a map from pointer ("/name", "/caps/per_customer/max") to messages.
 */
export function fieldErrors(error: unknown, prefix = ""): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!(error instanceof ApiError)) return out;
  for (const f of error.fields) {
    const pointer = prefix && f.pointer.startsWith(prefix) ? f.pointer.slice(prefix.length) : f.pointer;
    out.set(pointer, [...(out.get(pointer) ?? []), f.message]);
  }
  return out;
}

/** The errors at a pointer and under it ("/caps" gathers "/caps/per_customer/max"). */
export function errorsUnder(errors: Map<string, string[]>, pointer: string): string[] {
  const out: string[] = [];
  errors.forEach((messages, p) => {
    if (p === pointer || p.startsWith(pointer + "/")) out.push(...messages);
  });
  return out;
}

/** The field errors under a prefix, re-rooted there (the conditions' for the builder). */
export function within(errors: Map<string, string[]>, prefix: string): FieldError[] {
  const out: FieldError[] = [];
  errors.forEach((messages, p) => {
    if (p === prefix || p.startsWith(prefix + "/")) {
      for (const m of messages) out.push({ pointer: p.slice(prefix.length), message: m });
    }
  });
  return out;
}

/** A sentence for an error that is not about one field. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
