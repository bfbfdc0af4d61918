// A real SFTP server on loopback for delivery tests: Debian's OpenSSH (/usr/sbin/sshd) with its own
// temporary config (random port, generated host key, key-only auth for a generated client key,
// internal-sftp), stopped on close. On a machine without sshd, a small server on ssh2's `Server`
// that does the operations delivery uses (stat, open/write/close, remove, rename, realpath) over
// the same directory, so the tests run either way.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';

const SSHD = '/usr/sbin/sshd';

export interface TestSftpServer {
  host: string;
  port: number;
  username: string;
  /** The directory uploads land in: an absolute path, the same on the server and on this machine. */
  directory: string;
  /** The client's private key (OpenSSH format) and the server's host key fingerprint (SHA-256, base64). */
  clientPrivateKey: string;
  hostKeySha256: string;
  /** Which server runs: OpenSSH or the ssh2 fallback. */
  kind: 'openssh' | 'ssh2';
  close(): Promise<void>;
}

const fingerprint = (publicLine: string) => createHash('sha256').update(Buffer.from(publicLine.split(' ')[1], 'base64')).digest('base64').replace(/=+$/, '');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > until) throw new Error(`sshd did not listen on ${port}: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startSftpServer(options: { forceFallback?: boolean } = {}): Promise<TestSftpServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cch-sftp-'));
  const directory = path.join(root, 'inbox');
  fs.mkdirSync(directory);
  const hostKeys = ssh2.utils.generateKeyPairSync('ed25519');
  const clientKeys = ssh2.utils.generateKeyPairSync('ed25519');
  const username = os.userInfo().username;
  const base = { host: '127.0.0.1', username, directory, clientPrivateKey: clientKeys.private, hostKeySha256: fingerprint(hostKeys.public) };
  const cleanup = () => fs.rmSync(root, { recursive: true, force: true });
  if (fs.existsSync(SSHD) && !options.forceFallback) {
    const port = await freePort();
    fs.writeFileSync(path.join(root, 'host_key'), hostKeys.private, { mode: 0o600 });
    fs.writeFileSync(path.join(root, 'authorized_keys'), `${clientKeys.public}\n`, { mode: 0o600 });
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(root, 'host_key')}`,
      'PidFile none',
      `AuthorizedKeysFile ${path.join(root, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      `AllowUsers ${username}`,
      'Subsystem sftp internal-sftp',
    ].join('\n');
    fs.writeFileSync(path.join(root, 'sshd_config'), `${config}\n`);
    // sshd started as root wants its privilege separation directory.
    if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const child = spawn(SSHD, ['-D', '-e', '-f', path.join(root, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    await waitForPort(port, child, () => stderr);
    return {
      ...base,
      port,
      kind: 'openssh',
      async close() {
        if (child.exitCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        }
        cleanup();
      },
    };
  }
  const server = fallbackServer(hostKeys.private, clientKeys.public, username, root);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    ...base,
    port,
    kind: 'ssh2',
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      cleanup();
    },
  };
}

/** The ssh2 fallback: public key auth for one key, SFTP confined to `root`. */
function fallbackServer(hostKey: string, clientPublic: string, username: string, root: string): ssh2.Server {
  const { OPEN_MODE, STATUS_CODE } = ssh2.utils.sftp;
  const allowed = ssh2.utils.parseKey(clientPublic);
  if (allowed instanceof Error) throw allowed;
  const inside = (remote: string) => {
    const resolved = path.resolve(remote);
    return resolved === root || resolved.startsWith(`${root}${path.sep}`) ? resolved : undefined;
  };
  const connections = new Set<ssh2.Connection>();
  const server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== username || ctx.key.algo !== allowed.type || !ctx.key.data.equals(allowed.getPublicSSH())) return ctx.reject(['publickey']);
      if (!ctx.signature) return ctx.accept(); // the client asks whether this key would do
      if (ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
      return ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          const handles = new Map<number, number>();
          let next = 0;
          const fail = (id: number, error: NodeJS.ErrnoException) => sftp.status(id, error.code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : STATUS_CODE.FAILURE, error.code);
          const attrsOf = (stats: fs.Stats) => ({ mode: stats.mode, uid: stats.uid, gid: stats.gid, size: stats.size, atime: Math.floor(stats.atimeMs / 1000), mtime: Math.floor(stats.mtimeMs / 1000) });
          const stat = (id: number, remote: string) => {
            const local = inside(remote);
            if (!local) return sftp.status(id, STATUS_CODE.PERMISSION_DENIED);
            fs.stat(local, (error, stats) => (error ? fail(id, error) : sftp.attrs(id, attrsOf(stats))));
          };
          sftp.on('REALPATH', (id, remote) => {
            const resolved = path.resolve(root, remote === '.' ? root : remote);
            sftp.name(id, [{ filename: resolved, longname: resolved, attrs: {} as ssh2.Attributes }]);
          });
          sftp.on('STAT', stat);
          sftp.on('LSTAT', stat);
          sftp.on('OPEN', (id, remote, flags) => {
            const local = inside(remote);
            if (!local || !(flags & OPEN_MODE.WRITE)) return sftp.status(id, STATUS_CODE.PERMISSION_DENIED);
            fs.open(local, 'w', 0o644, (error, fd) => {
              if (error) return fail(id, error);
              const handle = Buffer.alloc(4);
              handle.writeUInt32BE(next, 0);
              handles.set(next++, fd);
              sftp.handle(id, handle);
            });
          });
          sftp.on('WRITE', (id, handle, offset, data) => {
            const fd = handles.get(handle.readUInt32BE(0));
            if (fd === undefined) return sftp.status(id, STATUS_CODE.FAILURE);
            fs.write(fd, data, 0, data.length, offset, (error) => (error ? fail(id, error) : sftp.status(id, STATUS_CODE.OK)));
          });
          sftp.on('FSTAT', (id, handle) => {
            const fd = handles.get(handle.readUInt32BE(0));
            if (fd === undefined) return sftp.status(id, STATUS_CODE.FAILURE);
            fs.fstat(fd, (error, stats) => (error ? fail(id, error) : sftp.attrs(id, attrsOf(stats))));
          });
          sftp.on('CLOSE', (id, handle) => {
            const key = handle.readUInt32BE(0);
            const fd = handles.get(key);
            if (fd === undefined) return sftp.status(id, STATUS_CODE.FAILURE);
            handles.delete(key);
            fs.close(fd, (error) => (error ? fail(id, error) : sftp.status(id, STATUS_CODE.OK)));
          });
          sftp.on('REMOVE', (id, remote) => {
            const local = inside(remote);
            if (!local) return sftp.status(id, STATUS_CODE.PERMISSION_DENIED);
            fs.unlink(local, (error) => (error ? fail(id, error) : sftp.status(id, STATUS_CODE.OK)));
          });
          sftp.on('RENAME', (id, from, to) => {
            const source = inside(from);
            const target = inside(to);
            if (!source || !target) return sftp.status(id, STATUS_CODE.PERMISSION_DENIED);
            // SFTP v3: renaming onto an existing file fails, as OpenSSH's does.
            if (fs.existsSync(target)) return sftp.status(id, STATUS_CODE.FAILURE, 'target exists');
            fs.rename(source, target, (error) => (error ? fail(id, error) : sftp.status(id, STATUS_CODE.OK)));
          });
        });
      });
    });
  });
  const close = server.close.bind(server);
  // Open connections would keep close() waiting.
  server.close = ((callback?: (error?: Error) => void) => {
    for (const connection of connections) connection.end();
    return close(callback);
  }) as typeof server.close;
  return server;
}
