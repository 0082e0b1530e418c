import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The shared workspace package from its source: tests need no build of it first.
  resolve: { alias: { '@license-monitor/common': resolve('packages/common/src/index.ts') } },
  test: {
    include: [
      '{agent,rules,receiver,report}/test/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    // The receiver's store thread from TypeScript source (production starts the compiled worker).
    setupFiles: ['receiver/test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests start real servers and processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
