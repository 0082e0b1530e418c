// Installs what `npm test`, `npm run demo` and `npm run bench` need on a fresh clone: the npm
// dependencies and the Prometheus/Alertmanager pairs of tool-versions.json (scripts/lib/tools.mjs
// fetches them from Debian into .cache/tools/<pair>/), both without root; and, as root, the Debian
// packages some tests use (docker-compose, Chromium, PostgreSQL).
//
//   node scripts/ensure-installed.mjs [--pairs current,floor] [--system]
//   --pairs: default both; `selected` = LM_TOOLS_PAIR. --system: the Debian packages too (npm test).
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { postgresBinDir } from './lib/postgres.mjs';
import { installTools, onPath, PAIRS, selectedPair, ToolsUnavailable } from './lib/tools.mjs';

const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: PAIRS.join(',') },
    system: { type: 'boolean', default: false },
  },
});
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

// Programs the tests take from the machine: Debian packages, installed with apt-get when we run as
// root (CI, a container); an ordinary user is told the command, and the tests that need them fail
// saying the same.
const SYSTEM_PACKAGES = [
  // docker-compose (v1) validates docker-compose.yml in test/compose.
  { package: 'docker-compose', present: () => onPath('docker-compose') },
  // Chromium: the tests that look at a page as a person would (test/helpers/browser.ts).
  { package: 'chromium', present: () => existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium') },
  // PostgreSQL: the receiver's PostgreSQL store is tested against a server each test starts itself
  // (test/helpers/postgres.ts) from /usr/lib/postgresql/<version>/bin.
  { package: 'postgresql', present: () => postgresBinDir() !== undefined },
];
const absent = !values.system ? [] : SYSTEM_PACKAGES.filter((p) => !p.present()).map((p) => p.package);
if (absent.length > 0) {
  if (process.getuid?.() === 0 && onPath('apt-get')) {
    console.log(`Installing ${absent.join(', ')} (apt-get)…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execSync('apt-get update', { stdio: 'inherit', env });
    execSync(`apt-get install -y --no-install-recommends ${absent.join(' ')}`, { stdio: 'inherit', env });
  } else {
    console.warn(
      `Note: ${absent.join(', ')} not installed; the tests that need them will fail (as root: apt-get install ${absent.join(' ')}).`,
    );
  }
}
