// Installs what `npm test`, `npm run demo` and `npm run bench` need on a fresh clone, without root:
// the npm dependencies, and the Prometheus/Alertmanager pairs of tool-versions.json (scripts/lib/tools.mjs
// fetches them from Debian into .cache/tools/<pair>/).
//
//   node scripts/ensure-installed.mjs [--pairs current,floor]     (default: both; `selected` = LM_TOOLS_PAIR)
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { installTools, PAIRS, selectedPair, ToolsUnavailable } from './lib/tools.mjs';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: PAIRS.join(',') } } });
const pairs = [...new Set(values.pairs.split(',').map((p) => (p === 'selected' ? selectedPair() : p)))];
for (const pair of pairs)
  if (!PAIRS.includes(pair)) {
    console.error(
      `ensure-installed: --pairs: ${JSON.stringify(pair)} is not valid: expected ${PAIRS.join(', ')} or selected`,
    );
    process.exit(2);
  }

/**
 * better-sqlite3 compiles against Node's headers when no prebuilt binary can be downloaded, and
 * node-gyp fetches them from nodejs.org unless told where they are: point it at the running Node's own
 * (Debian's and NodeSource's nodejs ship them in /usr/include/node), so that a machine that reaches
 * only an npm registry builds too.
 */
function nodeHeaders() {
  if (process.env.npm_config_nodedir) return {};
  const prefix = resolve(dirname(process.execPath), '..');
  const versionFile = join(prefix, 'include/node/node_version.h');
  if (!existsSync(versionFile)) return {};
  const text = readFileSync(versionFile, 'utf8');
  const version = ['MAJOR', 'MINOR', 'PATCH']
    .map((part) => new RegExp(`define NODE_${part}_VERSION (\\d+)`).exec(text)?.[1])
    .join('.');
  return version === process.versions.node ? { npm_config_nodedir: prefix } : {};
}

const marker = 'node_modules/.package-lock.json';
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs) {
  console.log('Installing npm dependencies (npm ci)…');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit', env: { ...process.env, ...nodeHeaders() } });
}

let failed = false;
for (const pair of pairs) {
  try {
    installTools(pair);
  } catch (err) {
    // The selected pair is what the demo and the end-to-end suite run; without the other, the tests
    // that need it say so and are skipped.
    const fatal = !(err instanceof ToolsUnavailable) || pair === selectedPair();
    console[fatal ? 'error' : 'warn'](`${fatal ? 'Error' : 'Note'}: ${err.message}`);
    failed ||= fatal;
  }
}
if (failed) process.exit(1);

// docker-compose (v1) only validates docker-compose.yml in test/compose; say how to get it.
if (!process.env.PATH?.split(':').some((dir) => dir && existsSync(`${dir}/docker-compose`))) {
  console.warn(
    'Note: docker-compose is not installed; test/compose will fail (Debian: apt-get install docker-compose).',
  );
}
