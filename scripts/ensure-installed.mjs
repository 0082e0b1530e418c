// Installs what `npm test`, `npm run demo` and `npm run bench` need on a fresh clone:
// the npm dependencies, and Prometheus and Alertmanager (promtool, amtool) when they are not on PATH.
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

const marker = 'node_modules/.package-lock.json';
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs) {
  console.log('Installing npm dependencies (npm ci)…');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}

// Where unpacked Debian packages go; vitest.config.ts puts it on the tests' PATH.
export const TOOLS_BIN = resolve('.cache/tools/usr/bin');
const TOOLS = {
  promtool: 'prometheus',
  prometheus: 'prometheus',
  amtool: 'prometheus-alertmanager',
  'prometheus-alertmanager': 'prometheus-alertmanager',
};

const onPath = (name) =>
  [TOOLS_BIN, ...(process.env.PATH ?? '').split(delimiter)].some((dir) => dir && existsSync(join(dir, name)));
const packages = [
  ...new Set(
    Object.entries(TOOLS)
      .filter(([bin]) => !onPath(bin))
      .map(([, pkg]) => pkg),
  ),
];

if (packages.length > 0) {
  if (!onPath('apt-get')) {
    console.error(
      `Missing ${packages.join(' and ')}: install them with your package manager (they provide promtool, amtool).`,
    );
    process.exit(1);
  }
  // No root needed: download the .deb files and unpack them into .cache/tools.
  const debs = resolve('.cache/tools/debs');
  mkdirSync(debs, { recursive: true });
  console.log(`Fetching ${packages.join(', ')} with apt-get download into .cache/tools…`);
  try {
    execFileSync('apt-get', ['download', ...packages], { cwd: debs, stdio: 'inherit' });
  } catch {
    console.error(
      'apt-get download failed; run `sudo apt-get update` once, or install them: sudo apt-get install --no-install-recommends prometheus prometheus-alertmanager',
    );
    process.exit(1);
  }
  for (const file of readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
    execFileSync('dpkg-deb', ['-x', join(debs, file), resolve('.cache/tools')]);
  }
}

// Chromium: tests open pages in it (test/helpers/browser.ts). Its Debian package has too many
// dependencies to unpack without root: install it as root, else say how.
if (!onPath('chromium') && !process.env.CHROMIUM_PATH) {
  if (process.getuid?.() === 0 && onPath('apt-get')) {
    console.log('Installing chromium (apt-get install chromium)…');
    execSync('apt-get update -qq && apt-get install -y --no-install-recommends chromium', {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } else {
    console.warn(
      'Note: chromium is not installed; the HTML report test will fail (Debian: sudo apt-get install chromium).',
    );
  }
}

// docker-compose (v1) only validates docker-compose.yml in test/compose; say how to get it.
if (!onPath('docker-compose')) {
  console.warn(
    'Note: docker-compose is not installed; test/compose will fail (Debian: apt-get install docker-compose).',
  );
}
