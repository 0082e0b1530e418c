import { delimiter, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{agent,rules,receiver,report}/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests start real servers and processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
    // Prometheus and Alertmanager unpacked by scripts/ensure-installed.mjs when not installed.
    env: { PATH: [resolve('.cache/tools/usr/bin'), process.env.PATH].join(delimiter) },
  },
});
