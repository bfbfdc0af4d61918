// Sends files to a payer: over SFTP (ssh2-sftp-client, key auth, optional host key pinning) or into
// a drop folder on a mounted share. Each file is written under a temporary name and renamed into
// place, so a payer polling the directory never picks up half a file; the final name is fixed per
// document, so a resend replaces the earlier copy instead of adding a second claim.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import type { SftpCredentials } from '../../config.ts';
import type { OutgoingFile } from './outgoing-package.ts';
import { ChannelError, type PayerChannel } from './payer-channel.ts';

export async function sendToSftp(
  channel: Extract<PayerChannel, { kind: 'sftp' }>,
  credentials: SftpCredentials | undefined,
  files: OutgoingFile[],
  timeoutMs: number,
): Promise<string[]> {
  if (!credentials) throw new ChannelError(`Endpoint/${channel.endpointId}: no SFTP credentials are configured (CLAIMS_SFTP_CREDENTIALS_FILE)`);
  const sftp = new SftpClient('claims-delivery');
  const pinned = credentials.hostKeySha256?.replace(/^SHA256:/, '').replace(/=+$/, '');
  try {
    await sftp.connect({
      host: channel.host,
      port: channel.port,
      username: channel.username,
      privateKey: credentials.privateKey,
      ...(credentials.passphrase ? { passphrase: credentials.passphrase } : {}),
      readyTimeout: timeoutMs,
      timeout: timeoutMs,
      // ssh2 hands the raw host key; its SHA-256 (base64, unpadded) is what ssh-keygen -lf prints.
      ...(pinned ? { hostVerifier: (key: Buffer) => createHash('sha256').update(key).digest('base64').replace(/=+$/, '') === pinned } : {}),
    });
    const written: string[] = [];
    for (const file of files) {
      const target = path.posix.join(channel.directory, file.name);
      const temporary = path.posix.join(channel.directory, `.${file.name}.part`);
      await sftp.put(file.content, temporary);
      try {
        // OpenSSH's posix-rename replaces an earlier copy atomically.
        await sftp.posixRename(temporary, target);
      } catch {
        // Servers without it: SFTP v3 rename refuses an existing target, so the earlier copy goes first.
        if (await sftp.exists(target)) await sftp.delete(target);
        await sftp.rename(temporary, target);
      }
      written.push(`sftp://${channel.host}:${channel.port}${target}`);
    }
    return written;
  } finally {
    await sftp.end().catch(() => undefined);
  }
}

export async function sendToDropFolder(channel: Extract<PayerChannel, { kind: 'drop-folder' }>, files: OutgoingFile[]): Promise<string[]> {
  await fs.mkdir(channel.directory, { recursive: true });
  const written: string[] = [];
  for (const file of files) {
    const target = path.join(channel.directory, file.name);
    const temporary = path.join(channel.directory, `.${file.name}.part`);
    await fs.writeFile(temporary, file.content);
    await fs.rename(temporary, target); // atomic, and replaces an earlier copy
    written.push(`file://${target}`);
  }
  return written;
}
