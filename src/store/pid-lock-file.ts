// A lock file holding the owner's process id: one process at a time per folder (the embedded
// database, the private Redis). A lock left by a process that died is taken over.
import fs from 'node:fs';

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `lockFile` or throws `inUse(holder)`; returns the release function. */
export function takePidLock(lockFile: string, inUse: (holder: number) => Error): () => void {
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(lockFile, 'utf8'));
      if (holder && holder !== process.pid && processAlive(holder)) throw inUse(holder);
      fs.rmSync(lockFile, { force: true }); // stale lock left by a crashed process
    }
  }
}
