// The queues of one server process: Redis connections, a Queue and Worker per registered module,
// and the outbox dispatcher. Opened by startServer after the database and closed before it:
// dispatcher first, then workers (each finishes the job it runs), queues, connections.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Database } from '../store/database.ts';
import { OutboxDispatcher } from './dispatcher.ts';
import { openModuleQueue, type ModuleQueue } from './module-queue.ts';
import { createRedisClient } from './redis-client.ts';
import type { RedisTarget } from './redis-provider.ts';
import { QUEUE_NAME, type QueueModule } from './queue-module.ts';

export interface QueueServiceOptions {
  db: Database;
  redis: RedisTarget;
  /** BullMQ key prefix (QUEUE_PREFIX). */
  prefix: string;
  modules: readonly QueueModule<unknown>[];
  logger: Logger;
  dispatchIntervalMs?: number;
}

export class QueueService {
  readonly queues: readonly ModuleQueue[];
  readonly dispatcher: OutboxDispatcher;
  readonly #producer: Redis;
  readonly #workerConnection: Redis;

  private constructor(options: QueueServiceOptions) {
    const names = new Set<string>();
    for (const module of options.modules) {
      if (!QUEUE_NAME.test(module.name)) throw new Error(`Invalid queue name "${module.name}"`);
      if (names.has(module.name)) throw new Error(`Queue "${module.name}" is registered twice`);
      names.add(module.name);
    }
    const logger = options.logger.child({ component: 'queues' });
    this.#producer = createRedisClient(options.redis, 'producer');
    this.#workerConnection = createRedisClient(options.redis, 'worker');
    let lastErrorLog = 0;
    const onError = (error: Error) => {
      // Each reconnect attempt while Redis is away reports an error: one line per 10 s.
      if (Date.now() - lastErrorLog < 10_000) return;
      lastErrorLog = Date.now();
      logger.warn({ error: { name: error.name, message: error.message } }, 'redis connection error');
    };
    this.#producer.on('error', onError);
    this.#workerConnection.on('error', onError);
    this.queues = options.modules.map((module) =>
      openModuleQueue(module, { producer: this.#producer, workerConnection: this.#workerConnection, prefix: options.prefix, logger }),
    );
    for (const { queue } of this.queues) queue.on('error', onError);
    this.dispatcher = new OutboxDispatcher(options.db, {
      queues: new Map(this.queues.map(({ name, queue }) => [name, queue])),
      redisReady: () => this.#producer.status === 'ready',
      logger,
      intervalMs: options.dispatchIntervalMs,
    });
  }

  /** Connects (without waiting for Redis: the outbox holds messages until it answers) and starts dispatching. */
  static start(options: QueueServiceOptions): QueueService {
    const service = new QueueService(options);
    service.dispatcher.start();
    return service;
  }

  /** Dispatch pending outbox rows now; call after a commit that enqueued. */
  nudge(): void {
    this.dispatcher.nudge();
  }

  /** Resolves when Redis answers PING within `timeoutMs`; for /readyz. */
  async ping(timeoutMs = 1_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#producer.ping(),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('Redis did not answer PING')), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.stop();
    // Workers finish the jobs they run, which needs Redis to record the outcome. With Redis away a
    // graceful close would wait for it forever: close at once, and an unfinished job is redelivered
    // once its lock expires (modules are idempotent).
    const redisUp = this.#producer.status === 'ready';
    await Promise.all(this.queues.map(({ worker }) => worker.close(!redisUp)));
    await Promise.all(this.queues.map(({ queue }) => queue.close()));
    this.#producer.disconnect();
    this.#workerConnection.disconnect();
  }
}
