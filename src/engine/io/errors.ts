// A problem with a model file a user gave (a safetensors file, a config.json): the
// message names the file and the first bad entry, and says what to do. File and tensor
// names come from the user, so the message is made printable once, here (as a
// DatasetError's): they came out raw, and a name could clear a terminal.
import { printable } from '../data/names';

export class ModelFileError extends Error {
  override name = 'ModelFileError';

  constructor(message: string) {
    super(printable(message));
  }
}
