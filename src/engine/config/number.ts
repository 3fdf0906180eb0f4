// How typed text becomes a number, everywhere one is typed (a page field, a link, `--set`):
// a decimal, with an optional sign, fraction and exponent. JavaScript's Number() also
// reads "0x10" as 16, "0b11" as 3 and "Infinity": a what-if threshold of 0x10 was taken
// as 16 without a word.

const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/** The decimal `raw` says, or NaN where it is none (empty, hex, binary, octal, Infinity, "1,5"). */
export function readNumber(raw: string): number {
  return DECIMAL.test(raw) ? Number(raw) : Number.NaN;
}
