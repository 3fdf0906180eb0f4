// The text of anything thrown, for a message a person reads: an Error's message, else
// the value itself as text (a worker or a library may throw a string).
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
