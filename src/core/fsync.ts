// fsync of a file or a folder by path: what makes a written file, or a rename into a folder,
// survive a power cut (POSIX needs the folder itself fsynced for the rename).
import { open } from 'node:fs/promises';

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
