/** Longest note (characters) a person may add; a longer one is refused with 413 `payload_too_large`. */
export const NOTE_MAX_CHARS = 10_000;
/** Longest reason for a reassignment. */
export const REASON_MAX_CHARS = 1_000;
