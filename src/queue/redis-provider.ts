// Where the queues' Redis comes from: REDIS_URL when set (production, several processes), else a
// private redis-server child with its data in DATA_DIR (one process, nothing to install but the
// binary). Locating happens before anything opens, so a missing Redis fails start-up at once.
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { findExecutable, PrivateRedisServer } from './private-redis-server.ts';
import { RedisUnavailableError } from './redis-unavailable-error.ts';

/** How to connect: a redis:// or rediss:// URL, or a unix socket path. */
export type RedisTarget = { url: string } | { path: string };

export interface ProvisionedRedis {
  target: RedisTarget;
  /** Stops the private server, if we started one. */
  close(): Promise<void>;
}

export interface RedisSource {
  open(logger: Logger): Promise<ProvisionedRedis>;
}

/** The URL without its password, for logs. */
function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export function locateRedis(config: Pick<Config, 'redisUrl' | 'dataDir'>, searchPath = process.env.PATH): RedisSource {
  const { redisUrl } = config;
  if (redisUrl) {
    return {
      async open(logger) {
        logger.info({ redis: redacted(redisUrl) }, 'queues use REDIS_URL');
        return { target: { url: redisUrl }, close: async () => undefined };
      },
    };
  }
  const binary = findExecutable('redis-server', searchPath);
  if (!binary) {
    throw new RedisUnavailableError(
      'The queues need Redis: set REDIS_URL to a Redis 6.2+ server (e.g. REDIS_URL=redis://127.0.0.1:6379), ' +
        'or install redis-server (e.g. apt-get install redis-server) so the server can run a private one with its data in DATA_DIR.',
    );
  }
  return {
    async open(logger) {
      const dir = path.join(config.dataDir, 'redis');
      const server = await PrivateRedisServer.start({ binary, dir });
      logger.info({ redis: server.socketPath, dir }, 'private redis-server started');
      return {
        target: { path: server.socketPath },
        async close() {
          await server.stop();
          logger.info('private redis-server stopped');
        },
      };
    },
  };
}
