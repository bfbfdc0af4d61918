// /admin/queues for hub-admin: the bull-board dashboard (queues, jobs, payloads, retry of dead
// letters) and GET /admin/queues/api/dead-letters as JSON for scripts. Mounted behind the bearer
// authentication; any other role gets 403.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type Router } from 'express';
import { FhirError } from '../fhir/errors.ts';
import type { Actor } from '../policy/actor.ts';
import { listDeadLetters } from './dead-letters.ts';
import type { ModuleQueue } from './module-queue.ts';

export const ADMIN_QUEUES_PATH = '/admin/queues';

export function adminQueuesRouter(queues: readonly ModuleQueue[]): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    const actor = res.locals.actor as Actor | undefined;
    if (actor?.role !== 'hub-admin') {
      return next(new FhirError(403, { code: 'forbidden', diagnostics: 'The queue dashboard is for hub-admin clients' }));
    }
    next();
  });
  router.get('/api/dead-letters', async (_req, res) => {
    res.json({ deadLetters: await listDeadLetters(queues) });
  });

  const board = new ExpressAdapter();
  board.setBasePath(ADMIN_QUEUES_PATH);
  // Not read-only: retrying a dead letter is the point. Jobs added by hand are refused by the
  // workers (they carry no outbox id).
  createBullBoard({ queues: queues.map(({ queue }) => new BullMQAdapter(queue, { allowRetries: true })), serverAdapter: board });
  router.use(board.getRouter() as Router);
  return router;
}
