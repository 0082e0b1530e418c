// Makes each workspace's built `bin` scripts executable: npm links them at install time, before
// `tsc` has written them, so their mode is whatever tsc left (not executable).
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = JSON.parse(readFileSync('package.json', 'utf8'));
for (const workspace of root.workspaces) {
  const { bin = {} } = JSON.parse(readFileSync(join(workspace, 'package.json'), 'utf8'));
  for (const file of Object.values(typeof bin === 'string' ? { bin } : bin)) {
    const path = join(workspace, file);
    if (existsSync(path)) chmodSync(path, 0o755);
  }
}
