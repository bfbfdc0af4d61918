import { defineConfig } from 'vitest/config';

// With DATABASE_URL (CI), the whole suite runs against PostgreSQL and the store, REST and search
// tests run a second time against PGlite, and so do the policy tests. Without it (a fresh clone), everything runs on PGlite.
const postgres = Boolean(process.env.DATABASE_URL);

const common = { testTimeout: 60_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    projects: [
      { test: { ...common, name: 'unit', include: ['src/**/*.test.ts'] } },
      {
        test: {
          ...common,
          name: 'pglite',
          include: postgres ? ['test/rest/**/*.test.ts', 'test/search/**/*.test.ts', 'test/policy/**/*.test.ts'] : ['test/**/*.test.ts'],
          env: { TEST_DB: 'pglite' },
        },
      },
      ...(postgres
        ? [{ test: { ...common, name: 'postgres', include: ['test/**/*.test.ts'], env: { TEST_DB: 'postgres' } } }]
        : []),
    ],
  },
});
