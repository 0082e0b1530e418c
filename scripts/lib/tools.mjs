// Prometheus and Alertmanager for the demo and the tests, in two pinned pairs (tool-versions.json):
// `current` (Prometheus 3.5, Alertmanager 0.33: the primary target) and `floor` (Debian 12's 2.42 and
// 0.25: the oldest supported). Both come from Debian with `apt-get download` — an apt configuration of
// our own under .cache/tools/apt, so no root and no change to the machine's sources — unpacked into
// .cache/tools/<pair>/. Debian's Alertmanager reads its default template from the absolute path
// /usr/share/prometheus/alertmanager, so alertmanagerCommand() runs it in a private mount namespace
// where that path holds its own copy (`unshare -rm` as an ordinary user, `unshare -m` as root).
// Where apt is missing (not Debian or Ubuntu), or with LM_TOOLS_FROM_PATH=1, programs of a fitting
// version on PATH are used instead (upstream builds carry their templates).
//
// Used by scripts/ensure-installed.mjs (install), scripts/demo.mjs and the tests (through
// test/helpers/tools.ts). Types: tools.d.mts beside this file.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The pins; LM_TOOL_VERSIONS names another file (test/tools checks the fallback with one). */
export const VERSIONS_FILE = resolve(process.env.LM_TOOL_VERSIONS ?? join(ROOT, 'tool-versions.json'));
/** Where the pairs are unpacked; LM_TOOLS_DIR moves it (CI's Node 22 copy of the tree shares one). */
export const TOOLS_DIR = resolve(process.env.LM_TOOLS_DIR ?? join(ROOT, '.cache/tools'));
export const PAIRS = /** @type {const} */ (['current', 'floor']);
const MIRROR = process.env.LM_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const KEYRING = 'usr/share/keyrings/debian-archive-keyring.gpg';
const AM_SHARE = '/usr/share/prometheus/alertmanager';

/** A pair that cannot be provided on this machine (no apt, nothing fitting on PATH). */
export class ToolsUnavailable extends Error {
  name = 'ToolsUnavailable';
}

export function readVersions() {
  return JSON.parse(readFileSync(VERSIONS_FILE, 'utf8'));
}

/** The pair LM_TOOLS_PAIR names (default `current`): the demo and the end-to-end suite run on it. */
export function selectedPair(env = process.env) {
  const pair = env.LM_TOOLS_PAIR || 'current';
  if (!PAIRS.includes(pair))
    throw new Error(`LM_TOOLS_PAIR: ${JSON.stringify(pair)} is not valid: expected ${PAIRS.join(' or ')}`);
  return pair;
}

const pairDir = (pair) => join(TOOLS_DIR, pair);
const manifestFile = (pair) => join(pairDir(pair), 'installed.json');
const pins = (pair) =>
  Object.fromEntries(Object.entries(readVersions().pairs[pair].packages).map(([n, p]) => [n, p.version]));
const upstream = (debianVersion) => debianVersion.replace(/^\d+:/, '').replace(/[+~-].*$/, '');

function readManifest(pair) {
  try {
    return JSON.parse(readFileSync(manifestFile(pair), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Where a pair stands: `tools` when it can run, else `missing` (ensure-installed.mjs would fetch it)
 * or `unavailable` (it cannot be had here); both with a sentence that says what to do.
 */
export function toolStatus(pair) {
  if (!PAIRS.includes(pair)) throw new Error(`unknown tool pair ${JSON.stringify(pair)}`);
  if (process.env.LM_TOOLS_FROM_PATH === '1' || !canFetch()) {
    const fromPath = pathTools(pair);
    if (fromPath) return { tools: fromPath };
    return { unavailable: unavailableReason(pair) };
  }
  const manifest = readManifest(pair);
  if (manifest && JSON.stringify(manifest.pinned) === JSON.stringify(pins(pair)))
    return { tools: debianTools(pair, manifest) };
  return {
    missing: `Prometheus and Alertmanager of the ${pair} pair are not installed${manifest ? ' at the pinned versions' : ''}: run \`node scripts/ensure-installed.mjs\` (no root needed)`,
  };
}

/** The pair's programs; throws with what to do when it is not installed. */
export function requireTools(pair) {
  const status = toolStatus(pair);
  if (status.tools) return status.tools;
  throw status.unavailable ? new ToolsUnavailable(status.unavailable) : new Error(status.missing);
}

function debianTools(pair, manifest) {
  const dir = pairDir(pair);
  const bin = (name) => join(dir, 'usr/bin', name);
  return {
    pair,
    source: `Debian ${manifest.suite}`,
    prometheus: bin('prometheus'),
    promtool: bin('promtool'),
    alertmanager: bin('prometheus-alertmanager'),
    amtool: bin('amtool'),
    versions: {
      prometheus: upstream(manifest.packages.prometheus),
      alertmanager: upstream(manifest.packages['prometheus-alertmanager']),
    },
    packages: manifest.packages,
    // Debian's Prometheus looks for its web assets in /usr/share/prometheus/web.
    prometheusFlags: [`--web.local-assets=${join(dir, 'usr/share/prometheus/web')}/`],
    alertmanagerShare: join(dir, 'usr/share'),
  };
}

// --- programs on PATH (machines without apt) -------------------------------------------------------

/** The program's path on PATH, or undefined. */
export function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function versionOf(program) {
  const r = spawnSync(program, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /version (\d+\.\d+\.\d+)/.exec(`${r.stdout}${r.stderr}`)?.[1];
}

function pathTools(pair) {
  const spec = readVersions().pairs[pair].packages;
  const prometheus = onPath('prometheus');
  const promtool = onPath('promtool');
  const alertmanager = onPath('alertmanager') ?? onPath('prometheus-alertmanager');
  const amtool = onPath('amtool');
  if (!prometheus || !promtool || !alertmanager || !amtool) return undefined;
  const versions = { prometheus: versionOf(prometheus), alertmanager: versionOf(alertmanager) };
  const fits = (v, accept) => v !== undefined && new RegExp(accept).test(v);
  if (!fits(versions.prometheus, spec.prometheus.accept)) return undefined;
  if (!fits(versions.alertmanager, spec['prometheus-alertmanager'].accept)) return undefined;
  // Upstream builds carry their templates and UI; a distribution's own package has its files in place.
  return {
    pair,
    source: 'PATH',
    prometheus,
    promtool,
    alertmanager,
    amtool,
    versions,
    packages: {},
    prometheusFlags: [],
  };
}

function unavailableReason(pair) {
  const { label } = readVersions().pairs[pair];
  const why = process.env.LM_TOOLS_FROM_PATH === '1' ? 'LM_TOOLS_FROM_PATH=1' : 'no apt-get/dpkg-deb here';
  return (
    `the ${pair} pair (${label}) is not on PATH (${why}): install them from https://prometheus.io/download/ ` +
    'so that prometheus, promtool, alertmanager and amtool are on PATH'
  );
}

// --- fetching from Debian ---------------------------------------------------------------------------

function canFetch() {
  return ['apt-get', 'apt-cache', 'dpkg-deb'].every((p) => onPath(p));
}

/**
 * An apt of our own that knows only `suite` of Debian: its options for apt-get and apt-cache, whether
 * its package lists are younger than an hour, and the versions of a package it lists.
 */
function aptFor(suite) {
  const base = join(TOOLS_DIR, 'apt', suite);
  const etc = join(base, 'sources');
  const lists = join(base, 'state/lists');
  for (const dir of [etc, join(lists, 'partial'), join(base, 'cache/archives/partial')])
    mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(etc, `debian-${suite}.sources`),
    `Types: deb\nURIs: ${MIRROR}\nSuites: ${suite}\nComponents: main\nSigned-By: ${keyring()}\n`,
  );
  const settings = {
    'Dir::Etc::SourceList': '/dev/null',
    'Dir::Etc::SourceParts': etc,
    'Dir::State': join(base, 'state'),
    'Dir::Cache': join(base, 'cache'),
    'Dir::State::status': '/dev/null',
    'Debug::NoLocking': 'true',
    'Acquire::Languages': 'none',
    // As root apt drops to the _apt user to download, which cannot write into our folders.
    ...(process.getuid?.() === 0 ? { 'APT::Sandbox::User': 'root' } : {}),
  };
  const options = Object.entries(settings).flatMap(([k, v]) => ['-o', `${k}=${v}`]);
  return {
    options,
    fresh: () =>
      readdirSync(lists).some(
        (f) => f.endsWith('_Packages') && Date.now() - statSync(join(lists, f)).mtimeMs < 3_600_000,
      ),
    update: () => run('apt-get', [...options, '-q', 'update']),
    versions: (name) =>
      run('apt-cache', [...options, 'madison', name])
        .split('\n')
        .map((line) => line.split('|').map((part) => part.trim()))
        .filter(([pkg]) => pkg === name)
        .map(([, version]) => version),
  };
}

/** Debian's archive keyring: the machine's, else unpacked from `apt-get download` (Ubuntu has it). */
function keyring() {
  const system = `/${KEYRING}`;
  if (existsSync(system)) return system;
  const dir = join(TOOLS_DIR, 'keyring');
  const ours = join(dir, KEYRING);
  if (existsSync(ours)) return ours;
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('apt-get', ['download', 'debian-archive-keyring'], { cwd: dir, stdio: 'pipe' });
    const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
    if (deb) execFileSync('dpkg-deb', ['-x', join(dir, deb), dir]);
  } catch {
    // said below
  }
  if (existsSync(ours)) return ours;
  throw new Error(
    `Debian's archive keyring is missing (${system}): install the debian-archive-keyring package, or run \`sudo apt-get update\` once so that apt-get download can fetch it`,
  );
}

function run(command, args, options = {}) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  } catch (err) {
    const detail = `${err.stderr ?? ''}`.trim().split('\n').slice(-3).join('\n') || err.message;
    throw new Error(`${command} ${args.filter((a) => !a.startsWith('Dir::')).join(' ')} failed: ${detail}`);
  }
}

/**
 * Fetches and unpacks a pair into .cache/tools/<pair>/ unless it is there at the pinned versions.
 * Throws ToolsUnavailable where apt is missing and nothing fitting is on PATH.
 */
export function installTools(pair, { log = console.log } = {}) {
  const status = toolStatus(pair);
  if (status.tools) return status.tools;
  if (status.unavailable) throw new ToolsUnavailable(status.unavailable);
  const { suite, packages } = readVersions().pairs[pair];
  const apt = aptFor(suite);
  log(
    `Fetching the ${pair} pair from Debian ${suite} (apt-get download into ${TOOLS_DIR}/${pair}; no root needed)…`,
  );
  // Package lists younger than an hour are reused, unless they lack a pinned version.
  const listed = () => Object.fromEntries(Object.keys(packages).map((name) => [name, apt.versions(name)]));
  const stale = !apt.fresh();
  if (stale) apt.update();
  let available = listed();
  const pinMissing = Object.entries(packages).some(
    ([name, { version }]) => !available[name].includes(version),
  );
  if (!stale && pinMissing) {
    apt.update();
    available = listed();
  }
  const chosen = {};
  for (const [name, { version, accept }] of Object.entries(packages)) {
    if (available[name].includes(version)) {
      chosen[name] = version;
      continue;
    }
    // An unstable suite replaces versions: take its current one of the same line, and say so.
    const other = available[name].find((v) => new RegExp(accept).test(upstream(v)));
    if (!other)
      throw new Error(
        `Debian ${suite} has no ${name} ${version}, nor another version matching ${accept} (it has: ${available[name].join(', ') || 'none'}); update tool-versions.json`,
      );
    log(`note: Debian ${suite} no longer has ${name} ${version}; using ${other} (its current version)`);
    chosen[name] = other;
  }
  const staging = `${pairDir(pair)}.new`;
  rmSync(staging, { recursive: true, force: true });
  const debs = join(staging, 'debs');
  mkdirSync(debs, { recursive: true });
  run('apt-get', [...apt.options, '-q', 'download', ...Object.entries(chosen).map(([n, v]) => `${n}=${v}`)], {
    cwd: debs,
  });
  for (const file of readdirSync(debs)) execFileSync('dpkg-deb', ['-x', join(debs, file), staging]);
  rmSync(debs, { recursive: true });
  writeFileSync(
    join(staging, 'installed.json'),
    `${JSON.stringify({ pair, suite, packages: chosen, pinned: pins(pair) }, null, 2)}\n`,
  );
  rmSync(pairDir(pair), { recursive: true, force: true });
  renameSync(staging, pairDir(pair));
  const tools = requireTools(pair);
  log(`  Prometheus ${chosen.prometheus}, Alertmanager ${chosen['prometheus-alertmanager']} (${pair})`);
  return tools;
}

// --- running Debian's Alertmanager with its own templates -------------------------------------------

/**
 * Shows the pair's share folder at /usr/share/prometheus/alertmanager, then runs the program: a bind
 * mount on that folder, or on /usr/share/prometheus; where neither exists (Debian's package is not
 * installed: the usual case) an overlay lays the pair's /usr/share over the machine's.
 */
const WITH_TEMPLATES = `set -e
share=$1; shift
if [ -d ${AM_SHARE} ]; then
  mount --bind "$share/prometheus/alertmanager" ${AM_SHARE}
elif [ -d /usr/share/prometheus ]; then
  mount --bind "$share/prometheus" /usr/share/prometheus
else
  mount -t overlay overlay -o "lowerdir=$share:/usr/share" /usr/share
fi
exec "$@"`;

let namespaceProbe;
/** Whether this process may make a mount namespace: `unshare -m` as root, `unshare -rm` otherwise. */
function mountNamespace() {
  if (namespaceProbe === undefined) {
    const flags = process.getuid?.() === 0 ? ['-m'] : ['-rm'];
    const r = spawnSync('unshare', [...flags, 'true'], { encoding: 'utf8', timeout: 10_000 });
    namespaceProbe = r.status === 0 ? { flags } : { error: `${r.stderr || r.error?.message || ''}`.trim() };
  }
  return namespaceProbe;
}

/**
 * The command that runs the pair's Alertmanager with `args`. Debian's reads its default template from
 * /usr/share/prometheus/alertmanager; in a private mount namespace that path shows the pair's own copy
 * (as root too, so that a newer Alertmanager never reads an older system package's template).
 */
export function alertmanagerCommand(tools, args) {
  if (!tools.alertmanagerShare) return { command: tools.alertmanager, args };
  if (/[:,]/.test(tools.alertmanagerShare))
    throw new Error(
      `${tools.alertmanagerShare}: a path with ':' or ',' cannot be mounted; move the checkout`,
    );
  const ns = mountNamespace();
  if (ns.flags)
    return {
      command: 'unshare',
      args: [
        ...ns.flags,
        '--',
        'sh',
        '-c',
        WITH_TEMPLATES,
        'alertmanager',
        tools.alertmanagerShare,
        tools.alertmanager,
        ...args,
      ],
    };
  throw new Error(
    `Debian's Alertmanager needs its templates at ${AM_SHARE}, and this machine allows no mount namespace ` +
      `(unshare ${process.getuid?.() === 0 ? '-m' : '-rm'}: ${ns.error || 'failed'}). Allow unprivileged user ` +
      'namespaces (Ubuntu 24.04: sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0), or put upstream ' +
      'Prometheus and Alertmanager (https://prometheus.io/download/) on PATH and set LM_TOOLS_FROM_PATH=1',
  );
}
