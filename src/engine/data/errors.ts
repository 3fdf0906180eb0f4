// A problem with a user's data: the message names the file and says what is wrong.
// Names come from the user's files, so the message is made printable once, here.
import { printable } from './names';

export class DatasetError extends Error {
  override name = 'DatasetError';

  constructor(message: string) {
    super(printable(message));
  }
}
