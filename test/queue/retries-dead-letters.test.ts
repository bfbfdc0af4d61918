// Retries with backoff, the dead-letter state, and the hub-admin views of it: the JSON listing and
// the bull-board dashboard at /admin/queues (401 without a token, 403 for other roles).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { createEffectTable, effects, enqueueCommitted, recordingModule, sleep, waitFor } from './queue-fixtures.ts';

let server: TestServer;
const failuresLeft = new Map<string, number>();
const flaky = recordingModule('flaky', () => server.db, {
  attempts: 4,
  backoffMs: 50,
  before(job) {
    const left = failuresLeft.get(job.outboxId) ?? 2;
    failuresLeft.set(job.outboxId, left - 1);
    if (left > 0) throw new Error(`transient failure, ${left} to go`);
  },
});
const broken = recordingModule('broken', () => server.db, {
  attempts: 3,
  backoffMs: 20,
  before() {
    throw new Error('the receiver refuses this message');
  },
});

beforeAll(async () => {
  server = await startTestServer({}, { queues: { modules: [flaky, broken], dispatchIntervalMs: 50 } });
  await createEffectTable(server.db);
});

afterAll(async () => {
  await server?.close();
});

describe('retries and dead letters', () => {
  it('retries a job that throws twice, then processes it once; attempts are counted', async () => {
    const [id] = await enqueueCommitted(server.db, 'flaky', 1);
    await waitFor('the effect', async () => (await effects(server.db, 'flaky')).length === 1);
    await sleep(200);
    expect(await effects(server.db, 'flaky')).toEqual([{ outbox_id: Number(id), n: 0, attempt: 3 }]);
    expect(flaky.deliveries).toEqual([
      { outboxId: id, attempt: 1, ran: false },
      { outboxId: id, attempt: 2, ran: false },
      { outboxId: id, attempt: 3, ran: true },
    ]);
    const queue = server.queues!.queues.find(({ name }) => name === 'flaky')!.queue;
    const job = await queue.getJob(`outbox-${id}`);
    expect(await job!.getState()).toBe('completed');
    expect(job!.attemptsStarted).toBe(3);
  });

  it('dead-letters a job that always throws, after its attempts', async () => {
    const [id] = await enqueueCommitted(server.db, 'broken', 1);
    const queue = server.queues!.queues.find(({ name }) => name === 'broken')!.queue;
    await waitFor('the failed job', async () => (await queue.getJobCounts('failed')).failed === 1);
    expect(broken.deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
    expect(await effects(server.db, 'broken')).toEqual([]);
    const job = await queue.getJob(`outbox-${id}`);
    expect(await job!.getState()).toBe('failed');
    expect(job!.attemptsMade).toBe(3);

    const listing = await server.request('GET', '/admin/queues/api/dead-letters');
    expect(listing.status).toBe(200);
    expect(listing.body.deadLetters).toEqual([
      { queue: 'broken', jobId: `outbox-${id}`, outboxId: id, failedReason: 'the receiver refuses this message', attemptsMade: 3, failedAt: expect.any(String) },
    ]);
  });

  it('shows the dashboard and the listing to hub-admin only', async () => {
    const page = await server.request('GET', '/admin/queues');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const api = await server.request('GET', '/admin/queues/api/queues');
    expect(api.status).toBe(200);
    // The test's own queues, among the server's (referrals, subscriptions...).
    expect(api.body.queues.map((q: { name: string }) => q.name)).toEqual(expect.arrayContaining(['broken', 'flaky', 'referrals']));

    const cbo = await server.tokenFor('cbo', 'Organization/food-bank', ['TREAT']);
    for (const path of ['/admin/queues', '/admin/queues/api/dead-letters', '/admin/queues/api/queues']) {
      const forbidden = await server.request('GET', path, { token: cbo });
      expect(forbidden.status).toBe(403);
      expect(forbidden.body.resourceType).toBe('OperationOutcome');
      expect(forbidden.body.issue[0].code).toBe('forbidden');
      const anonymous = await server.request('GET', path, { token: null });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.resourceType).toBe('OperationOutcome');
    }
    const staff = await server.request('GET', '/admin/queues/api/dead-letters', { token: await server.tokenFor('hub-staff') });
    expect(staff.status).toBe(403);
  });

  it('a dead letter retried from the dashboard runs again', async () => {
    const queue = server.queues!.queues.find(({ name }) => name === 'broken')!.queue;
    const [failed] = await queue.getFailed();
    const before = broken.deliveries.length;
    const retried = await server.request('PUT', `/admin/queues/api/queues/broken/${failed.id}/retry`);
    expect(retried.status).toBe(204);
    await waitFor('another delivery', () => broken.deliveries.length > before);
  });

  it('reports Redis in /readyz', async () => {
    const ready = await server.request('GET', '/readyz', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready' });
  });
});
