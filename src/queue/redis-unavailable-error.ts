// Start-up cannot get a Redis for the queues: main.ts prints the message and exits 2, like a
// configuration error, since the fix is in the environment (REDIS_URL or a redis-server binary).
export class RedisUnavailableError extends Error {}
