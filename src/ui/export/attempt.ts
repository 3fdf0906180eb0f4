// A file the page makes on a click, its failure as a message that names the file, not a
// rejected promise nobody hears: a 110,000-step run with a window a step made its
// metrics JSON throw "Invalid string length" in JSON.stringify, and the JSON button did
// nothing and said nothing.
import { messageOf } from '../../engine/message-of';

export async function attempt(what: string, make: () => unknown): Promise<string | null> {
  try {
    await make();
    return null;
  } catch (err) {
    const why = messageOf(err);
    // V8's words for a string past its longest (about 2^29 characters)
    const hint = /Invalid string length/.test(why) ? ": the run's record is longer than the longest text this browser makes" : '';
    return `could not export ${what}: ${why}${hint}`;
  }
}
