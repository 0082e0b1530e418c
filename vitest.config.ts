import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{agent,rules,receiver}/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests start real servers and processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
