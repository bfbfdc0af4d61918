// Removing a queue prefix's keys from Redis: what tests and benchmarks do after running servers
// under a random QUEUE_PREFIX, so that runs never share (or leave behind) queue state.
import { Redis } from 'ioredis';

/** Deletes every key under `prefix` (BullMQ keys are `prefix:queue:...`). */
export async function deleteQueueKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
