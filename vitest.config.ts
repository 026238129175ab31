import { defineConfig } from 'vitest/config';

// The file suffix picks the test kind (see docs/testing.md):
//   *.test.ts      fast, no services
//   *.int.test.ts  needs Postgres and/or Redis; skips with a reason unless MERIDIAN_REQUIRE_SERVICES=1
//   *.e2e.test.ts  drives processes or a browser
//   *.chaos.test.ts  fault-injection runs (pnpm test:chaos; also part of pnpm test)
const shared = {
  resolve: { conditions: ['@meridian/source'] },
};
const include = (suffix: string) => [`apps/*/src/**/*${suffix}`, `packages/*/src/**/*${suffix}`, `test/**/*${suffix}`];

export default defineConfig({
  ...shared,
  test: {
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          include: include('.test.ts'),
          exclude: ['**/node_modules/**', '**/*.int.test.ts', '**/*.e2e.test.ts', '**/*.chaos.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        ...shared,
        test: { name: 'int', include: include('.int.test.ts'), testTimeout: 120_000, hookTimeout: 120_000 },
      },
      {
        ...shared,
        test: { name: 'e2e', include: include('.e2e.test.ts'), testTimeout: 300_000, hookTimeout: 120_000, fileParallelism: false },
      },
      {
        ...shared,
        test: { name: 'chaos', include: include('.chaos.test.ts'), testTimeout: 600_000, hookTimeout: 120_000, fileParallelism: false },
      },
    ],
  },
});
