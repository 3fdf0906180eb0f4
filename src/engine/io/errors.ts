// A problem with a model file a user gave (a safetensors file, a config.json): the
// message names the file and the first bad entry, and says what to do.
export class ModelFileError extends Error {
  override name = 'ModelFileError';
}
