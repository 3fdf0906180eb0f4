// A problem with a user's data: the message names the file and says what is wrong.
export class DatasetError extends Error {
  override name = 'DatasetError';
}

/** gunzip when the bytes start with the gzip magic; a broken gzip is a DatasetError. */
export async function maybeGunzip(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const { gunzipSync } = await import('fflate');
  try {
    return gunzipSync(bytes);
  } catch (err) {
    throw new DatasetError(`${file}: not a valid gzip file (${(err as Error).message}): upload it as published, or unpacked`);
  }
}
