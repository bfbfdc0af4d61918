// ioredis clients for the queues. Producers (the dispatcher, the dashboard, /readyz) fail fast while
// Redis is away, so nothing waits on it while holding database locks; workers wait and retry
// forever, as BullMQ requires of the connections its blocking commands run on.
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from './redis-provider.ts';

export type RedisRole = 'producer' | 'worker';

export function createRedisClient(target: RedisTarget, role: RedisRole): Redis {
  const options: RedisOptions =
    role === 'producer'
      ? { connectionName: 'cch-producer', enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 5_000 }
      : { connectionName: 'cch-worker', maxRetriesPerRequest: null, connectTimeout: 5_000 };
  // Reconnect quickly after a Redis restart; ioredis retries forever with this delay.
  options.retryStrategy = (times) => Math.min(50 * times, 1_000);
  return 'url' in target ? new Redis(target.url, options) : new Redis({ ...options, path: target.path });
}
