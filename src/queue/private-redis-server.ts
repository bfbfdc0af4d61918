// A private redis-server child for a single-process install (no REDIS_URL): its data and AOF in
// DATA_DIR/redis, listening on a unix socket only (mode 700), so nothing else on the machine can
// reach it. Messages already moved out of the outbox live there, hence the AOF with fsync always.
//
// Redis is started under a small sh watchdog that holds the pipe of our stdin: when this process
// exits in any way, a SIGKILL included, the pipe closes and the watchdog stops Redis (SIGTERM, which
// flushes the AOF). The child is in its own process group so a terminal's Ctrl-C reaches only us,
// and we stop Redis last, after the workers finished their jobs.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { processAlive, takePidLock } from '../store/pid-lock-file.ts';
import { RedisUnavailableError } from './redis-unavailable-error.ts';

const WATCHDOG = `"$@" &
pid=$!
while read -r _; do :; done
kill -TERM "$pid" 2>/dev/null
wait "$pid"`;

/** Unix socket paths are limited to about 104 bytes; a longer DATA_DIR gets its socket in a private temp dir. */
const MAX_SOCKET_PATH = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The absolute path of an executable named `name` on `searchPath`, if any. */
export function findExecutable(name: string, searchPath: string | undefined): string | undefined {
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const alive = processAlive;

/** True when `pid` is a redis-server process (Linux /proc); never guess elsewhere, so we never kill a stranger. */
function isRedisServer(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return false;
  }
}

/** Sends PING on the socket; resolves true on +PONG (a -LOADING reply while the AOF loads is false). */
function ping(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path: socketPath });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

export interface PrivateRedisOptions {
  /** The redis-server executable. */
  binary: string;
  /** Where Redis keeps its AOF, log, pid file and (usually) its socket: DATA_DIR/redis. */
  dir: string;
  startTimeoutMs?: number;
}

export class PrivateRedisServer {
  readonly socketPath: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #cleanup: () => void;

  private constructor(socketPath: string, child: ChildProcess, exited: Promise<void>, cleanup: () => void) {
    this.socketPath = socketPath;
    this.#child = child;
    this.#exited = exited;
    this.#cleanup = cleanup;
  }

  static async start(options: PrivateRedisOptions): Promise<PrivateRedisServer> {
    const dir = path.resolve(options.dir);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const releaseLock = takeLock(dir);
    let tempDir: string | undefined;
    try {
      await stopLeftover(dir);
      let socketPath = path.join(dir, 'redis.sock');
      if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
        tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cch-redis-'));
        socketPath = path.join(tempDir, 'redis.sock');
      }
      fs.rmSync(socketPath, { force: true });
      const args = [
        options.binary,
        '--port', '0', // no TCP listener at all
        '--unixsocket', socketPath,
        '--unixsocketperm', '700',
        '--dir', dir,
        '--appendonly', 'yes',
        '--appendfsync', 'always', // an acknowledged job survives a crash of Redis or the machine
        '--save', '', // the AOF is the persistence; no RDB snapshots besides it
        '--daemonize', 'no',
        '--pidfile', path.join(dir, 'redis.pid'),
        '--logfile', path.join(dir, 'redis.log'),
      ];
      const child = spawn('sh', ['-c', WATCHDOG, 'sh', ...args], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
      // A spawn failure emits 'error' and maybe no 'exit': either ends the child for us.
      const exited = new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.once('error', () => resolve());
      });
      let hasExited = false;
      void exited.then(() => (hasExited = true));
      child.stdin!.on('error', () => undefined); // EPIPE once the watchdog is gone
      const cleanup = () => {
        if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
        releaseLock();
      };
      const server = new PrivateRedisServer(socketPath, child, exited, cleanup);
      const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
      while (!(await ping(socketPath))) {
        if (hasExited || Date.now() > deadline) {
          await server.stop();
          throw new RedisUnavailableError(
            `redis-server (${options.binary}) did not start${hasExited ? '' : ' in time'}; see ${path.join(dir, 'redis.log')}, or set REDIS_URL`,
          );
        }
        await sleep(25);
      }
      return server;
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) {
        if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
        releaseLock();
      }
      throw error;
    }
  }

  /** Whether Redis answers PING. */
  ping(): Promise<boolean> {
    return ping(this.socketPath);
  }

  /** Stops Redis (its AOF flushed) and waits for it; killed after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#child.stdin?.end(); // EOF: the watchdog sends Redis SIGTERM
    const timer = setTimeout(() => {
      try {
        process.kill(-this.#child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
      this.#cleanup();
    }
  }
}

/**
 * One process per DATA_DIR/redis: a second one (several servers sharing DATA_DIR on PostgreSQL)
 * must share a Redis through REDIS_URL instead. A lock left by a dead process is taken over.
 */
function takeLock(dir: string): () => void {
  return takePidLock(
    path.join(dir, 'owner.pid'),
    (holder) => new RedisUnavailableError(`The private Redis in ${dir} is in use by process ${holder}. Several server processes must share one Redis: set REDIS_URL.`),
  );
}

/** A Redis left by a process that died may still be shutting down (or orphaned): let it finish, then stop it. */
async function stopLeftover(dir: string): Promise<void> {
  const pidFile = path.join(dir, 'redis.pid');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  if (!pid || !alive(pid) || !isRedisServer(pid)) return;
  const deadline = Date.now() + 5_000;
  while (alive(pid) && Date.now() < deadline) await sleep(50); // the watchdog is stopping it
  if (alive(pid) && isRedisServer(pid)) {
    process.kill(pid, 'SIGTERM');
    const hardDeadline = Date.now() + 5_000;
    while (alive(pid) && Date.now() < hardDeadline) await sleep(50);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
}
