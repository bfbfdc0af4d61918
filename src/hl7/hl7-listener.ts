// The MLLP listener (HL7_PORT; TLS when HL7_TLS_CERT and HL7_TLS_KEY are set). Each connection has
// its own frame decoder and answers its messages in the order they came, one at a time (a sender
// waiting for each ACK is the norm; one that pipelines gets its ACKs in order). Connections may stay
// open for days: TCP keep-alive finds dead peers, no idle timeout closes live ones. A sender that
// pipelines far ahead is paused until we catch up, so memory stays bounded.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Database } from '../store/database.ts';
import { FrameTooLargeError, MllpDecoder, mllpFrame } from './mllp-framing.ts';
import { receiveMessage } from './hl7-receiver.ts';

export interface Hl7ListenerOptions {
  port: number;
  /** PEM file paths; both or neither. */
  tlsCert?: string;
  tlsKey?: string;
  db: Database;
  logger: Logger;
  /** Largest frame accepted (default 16 MiB). */
  maxFrameBytes?: number;
}

export interface Hl7Listener {
  port: number;
  /** Stops accepting, lets messages being stored finish (up to `graceMs`), then closes connections. */
  close(graceMs?: number): Promise<void>;
}

const PAUSE_AT = 64;
const RESUME_AT = 8;

export async function startHl7Listener(options: Hl7ListenerOptions): Promise<Hl7Listener> {
  const log = options.logger.child({ component: 'hl7' });
  const sockets = new Set<net.Socket>();
  const inFlight = new Set<Promise<void>>();

  const onConnection = (socket: net.Socket) => {
    sockets.add(socket);
    socket.setKeepAlive(true, 60_000);
    socket.setNoDelay(true);
    const decoder = new MllpDecoder(options.maxFrameBytes);
    let chain = Promise.resolve();
    let waiting = 0;
    const answer = async (frame: Buffer) => {
      const result = await receiveMessage(options.db, frame.toString('utf8'), log);
      if (result.ack && !socket.destroyed) socket.write(mllpFrame(result.ack));
    };
    socket.on('data', (data: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(data);
      } catch (error) {
        if (error instanceof FrameTooLargeError) log.warn({ remote: socket.remoteAddress }, 'hl7 frame too large: connection closed');
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        waiting += 1;
        if (waiting >= PAUSE_AT) socket.pause();
        const step = chain.then(() => answer(frame)).catch((error: unknown) => log.error({ err: { type: (error as Error)?.name } }, 'hl7 answer failed'));
        chain = step.finally(() => {
          waiting -= 1;
          if (waiting <= RESUME_AT && socket.isPaused()) socket.resume();
        });
        inFlight.add(chain);
        void chain.finally(() => inFlight.delete(chain));
      }
    });
    socket.on('error', () => undefined); // a reset by the peer; 'close' follows
    socket.on('close', () => sockets.delete(socket));
  };

  const server =
    options.tlsCert && options.tlsKey
      ? tls.createServer({ cert: fs.readFileSync(options.tlsCert), key: fs.readFileSync(options.tlsKey) }, onConnection)
      : net.createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  log.info({ port, tls: Boolean(options.tlsCert) }, 'hl7 mllp listening');
  return {
    port,
    async close(graceMs = 5_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
