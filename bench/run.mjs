// `npm run bench`: every benchmark in turn; each writes its own section of BENCHMARKS.md.
import { execFileSync } from 'node:child_process';

for (const script of ['bench/agent/run.ts', 'bench/receiver/run.ts', 'bench/receiver/postgres.ts']) {
  console.log(`\n=== ${script}`);
  execFileSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit' });
}
