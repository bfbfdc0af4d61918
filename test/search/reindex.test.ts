import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reindex } from '../../src/fhir/search/reindex.ts';
import { SearchParameterRegistry } from '../../src/fhir/search/search-parameter-registry.ts';
import { loadStoredSearchParameters } from '../../src/fhir/search/stored-search-parameters.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const ids = (bundle: { entry?: { resource: { id: string } }[] }) => (bundle.entry ?? []).map((entry) => entry.resource.id).sort();

describe('reindex', () => {
  it('makes resources written before a new SearchParameter searchable by it, and resumes after an interruption', async () => {
    const created: string[] = [];
    for (const nickname of ['Bobby', 'Bobbie', 'Rob']) {
      const res = await server.request('POST', '/fhir/Patient', {
        body: { resourceType: 'Patient', name: [{ use: 'nickname', given: [nickname] }, { use: 'official', family: 'Reindexed' }] },
      });
      created.push(res.body.id);
    }
    const parameter = await server.request('POST', '/fhir/SearchParameter', {
      body: {
        resourceType: 'SearchParameter', url: 'http://example.org/SearchParameter/patient-nickname', name: 'nickname', status: 'active',
        description: 'Nickname', code: 'nickname', base: ['Patient'], type: 'string', expression: "Patient.name.where(use='nickname').given",
      },
    });
    expect(parameter.status).toBe(201);

    // Known to the server now, but the older resources have no index rows for it yet.
    const before = await server.request('GET', '/fhir/Patient?nickname=bob');
    expect(before.status).toBe(200);
    expect(ids(before.body)).toEqual([]);

    // A run that stops after the first batch leaves its position behind...
    const registry = new SearchParameterRegistry();
    await loadStoredSearchParameters(server.db, registry);
    await expect(
      reindex(server.db, registry, {
        resourceType: 'Patient',
        batchSize: 1,
        onProgress: ({ done }) => {
          if (done === 1) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    const saved = await server.db.query<{ last_id: string }>(`SELECT last_id FROM reindex_progress WHERE job = 'Patient'`);
    expect(saved).toHaveLength(1);

    // ...and the next run continues from it and finishes the job.
    const remaining = await server.db.query(`SELECT 1 FROM resource WHERE resource_type = 'Patient' AND NOT deleted AND id > $1`, [saved[0].last_id]);
    const all = await server.db.query(`SELECT 1 FROM resource WHERE resource_type = 'Patient' AND NOT deleted`);
    expect(remaining.length).toBe(all.length - 1);
    expect(await reindex(server.db, registry, { resourceType: 'Patient', batchSize: 1 })).toBe(remaining.length);
    expect(await server.db.query(`SELECT 1 FROM reindex_progress`)).toHaveLength(0);

    const after = await server.request('GET', '/fhir/Patient?nickname=bob');
    expect(ids(after.body)).toEqual([created[0], created[1]].sort());
    const rob = await server.request('GET', '/fhir/Patient?nickname:exact=Rob');
    expect(ids(rob.body)).toEqual([created[2]]);
  });
});
