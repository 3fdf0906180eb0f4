// `--export DIR`: the folder is checked to be writable before training starts (a run
// must not end in an unwritable folder), and the export's files are written into it,
// each replacing a file of the same name; nothing else in the folder is touched.
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ExportFile } from '../engine/io/export';

/** null when DIR is (or can be made) a writable folder, else what is wrong and what to do. */
export async function checkWritableDir(dir: string): Promise<string | null> {
  const s = await stat(dir).catch(() => null);
  if (s && !s.isDirectory()) return `${dir} is a file, not a folder: give a folder to export into`;
  const probe = join(dir, `.write-check-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
    await rm(probe);
    return null;
  } catch (err) {
    return `cannot write to ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): choose a folder you can write to`;
  }
}

export async function writeExport(dir: string, files: ExportFile[]): Promise<void> {
  for (const f of files) {
    const path = join(dir, ...f.path.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, f.contents);
  }
}
