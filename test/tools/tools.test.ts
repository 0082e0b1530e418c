// The pinned Prometheus/Alertmanager pairs (tool-versions.json, scripts/lib/tools.mjs) and the rest of
// the versions in one place: each pair runs at its pinned versions; Debian's Alertmanager reads its
// own templates whoever runs it (root included, where the system's older package has its own); the
// helper's startPrometheus/startAlertmanager give a ready server; the installer takes a suite's current
// version when the pinned one is gone; and docker-compose, the Dockerfiles and engines follow the file.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { alertmanagerCommand, ROOT, readVersions, TOOLS_DIR } from '../../scripts/lib/tools.mjs';
import { dockerfileStages } from '../helpers/kubernetes.js';
import { describeEachPair, startAlertmanager, startPrometheus } from '../helpers/tools.js';

const versions = readVersions();
const tmp = mkdtempSync(join(tmpdir(), 'lm-tools-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describeEachPair('a pinned pair', (tools) => {
  const pinned = versions.pairs[tools.pair].packages;

  it('runs the versions tool-versions.json pins', () => {
    for (const [name, program] of [
      ['prometheus', tools.prometheus],
      ['promtool', tools.promtool],
      ['prometheus-alertmanager', tools.alertmanager],
      ['prometheus-alertmanager', tools.amtool],
    ] as const) {
      const printed = spawnSync(program, ['--version'], { encoding: 'utf8' });
      const version = /version (\d+\.\d+\.\d+)/.exec(`${printed.stdout}${printed.stderr}`)?.[1];
      expect(version, program).toBe(
        name === 'prometheus-alertmanager' ? tools.versions.alertmanager : tools.versions.prometheus,
      );
      // The package version is the pin, or (a replaced pin) one of the same line.
      const spec = pinned[name] ?? pinned.prometheus;
      expect(version, program).toMatch(new RegExp(spec?.accept ?? '^$'));
    }
  });

  it.runIf(tools.alertmanagerShare !== undefined)(
    "Debian's Alertmanager sees its own default template at the absolute path it reads",
    () => {
      // The command alertmanagerCommand builds, with `cat` in the Alertmanager's place.
      const share = tools.alertmanagerShare as string;
      const { command, args } = alertmanagerCommand({ ...tools, alertmanager: '/bin/cat' }, [
        '/usr/share/prometheus/alertmanager/default.tmpl',
      ]);
      const seen = execFileSync(command, args, { encoding: 'utf8' });
      expect(seen).toBe(readFileSync(join(share, 'prometheus/alertmanager/default.tmpl'), 'utf8'));
    },
  );

  it('startPrometheus and startAlertmanager give ready servers of the pair', async () => {
    const dir = mkdtempSync(join(tmp, `${tools.pair}-`));
    writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1m\n');
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      yaml.dump({ route: { receiver: 'none' }, receivers: [{ name: 'none' }] }),
    );
    const prometheus = await startPrometheus(tools, {
      config: join(dir, 'prometheus.yml'),
      dataDir: join(dir, 'tsdb'),
    });
    const alertmanager = await startAlertmanager(tools, {
      config: join(dir, 'alertmanager.yml'),
      dataDir: join(dir, 'am'),
    });
    try {
      const build = (await (await fetch(`${prometheus.url}/api/v1/status/buildinfo`)).json()) as {
        data: { version: string };
      };
      expect(build.data.version).toContain(tools.versions.prometheus);
      const status = (await (await fetch(`${alertmanager.url}/api/v2/status`)).json()) as {
        versionInfo: { version: string };
      };
      expect(status.versionInfo.version).toBe(tools.versions.alertmanager);
    } finally {
      await Promise.all([prometheus.stop(), alertmanager.stop()]);
    }
    expect(alertmanager.process.child.exitCode ?? alertmanager.process.child.signalCode).not.toBeNull();
  });
});

describe('scripts/ensure-installed.mjs', () => {
  const current = versions.pairs.current;
  // Only Debian can tell what its suite holds; this machine has fetched the current pair from it.
  const fetched = existsSync(join(TOOLS_DIR, 'current/installed.json'));

  it.runIf(fetched)(
    'takes the suite’s current version, and says which, when the pinned one is gone',
    () => {
      const gone = { ...current.packages['prometheus-alertmanager'], version: '0.33.0-0~gone' };
      const file = join(tmp, 'tool-versions.json');
      writeFileSync(
        file,
        JSON.stringify({
          ...versions,
          pairs: {
            ...versions.pairs,
            current: { ...current, packages: { ...current.packages, 'prometheus-alertmanager': gone } },
          },
        }),
      );
      // A fresh cache folder, with this machine's package lists (fresh ones are reused; a pin they
      // lack makes the installer refresh them once).
      const dir = join(tmp, 'tools');
      cpSync(join(TOOLS_DIR, 'apt', current.suite), join(dir, 'apt', current.suite), { recursive: true });
      const output = execFileSync(process.execPath, ['scripts/ensure-installed.mjs', '--pairs', 'current'], {
        cwd: ROOT,
        env: { ...process.env, LM_TOOL_VERSIONS: file, LM_TOOLS_DIR: dir, LM_TOOLS_PAIR: 'current' },
        encoding: 'utf8',
      });
      const installed = JSON.parse(readFileSync(join(dir, 'current/installed.json'), 'utf8'));
      const taken = installed.packages['prometheus-alertmanager'] as string;
      expect(taken).toMatch(/^0\.3[3-9]\./);
      expect(output).toContain(
        `note: Debian ${current.suite} no longer has prometheus-alertmanager 0.33.0-0~gone; using ${taken}`,
      );
      expect(installed.pinned['prometheus-alertmanager']).toBe('0.33.0-0~gone');
      expect(installed.packages.prometheus).toBe(current.packages.prometheus?.version);
      expect(existsSync(join(dir, 'current/usr/bin/prometheus-alertmanager'))).toBe(true);
    },
    60_000,
  );
});

/** The root package.json's workspaces, globs like packages/* expanded. */
function workspaces(): string[] {
  const { workspaces: list } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };
  return list.flatMap((entry) =>
    entry.endsWith('/*')
      ? readdirSync(join(ROOT, entry.slice(0, -2)))
          .map((name) => join(entry.slice(0, -2), name))
          .filter((dir) => existsSync(join(ROOT, dir, 'package.json')))
      : [entry],
  );
}

describe('without apt, or with LM_TOOLS_FROM_PATH=1: programs on PATH', () => {
  const floor = join(TOOLS_DIR, 'floor/usr/bin');

  it.runIf(existsSync(floor))('uses those of a fitting version, for the pair they fit', () => {
    // Debian 12's programs stand in for an upstream install here.
    const bin = join(tmp, 'path-bin');
    mkdirSync(bin);
    for (const name of ['prometheus', 'promtool', 'amtool']) symlinkSync(join(floor, name), join(bin, name));
    symlinkSync(join(floor, 'prometheus-alertmanager'), join(bin, 'alertmanager'));
    const status = (pair: string) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `import { toolStatus } from './scripts/lib/tools.mjs'; console.log(JSON.stringify(toolStatus('${pair}')));`,
          ],
          { cwd: ROOT, env: { ...process.env, LM_TOOLS_FROM_PATH: '1', PATH: bin }, encoding: 'utf8' },
        ),
      );
    const floorStatus = status('floor');
    expect(floorStatus.tools).toMatchObject({ source: 'PATH', alertmanager: join(bin, 'alertmanager') });
    expect(floorStatus.tools.versions).toEqual({ prometheus: '2.42.0', alertmanager: '0.25.0' });
    expect(status('current').unavailable).toContain('https://prometheus.io/download/');
  });

  it('says in one line what to install when nothing fits', () => {
    const result = spawnSync(process.execPath, ['scripts/ensure-installed.mjs', '--pairs', 'current'], {
      cwd: ROOT,
      env: { ...process.env, LM_TOOLS_FROM_PATH: '1', LM_TOOLS_PAIR: 'current', PATH: join(tmp, 'empty') },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'Error: the current pair (Prometheus 3.5 and Alertmanager 0.33) is not on PATH (LM_TOOLS_FROM_PATH=1): install them from https://prometheus.io/download/ so that prometheus, promtool, alertmanager and amtool are on PATH',
    ]);
  });
});

describe('tool-versions.json is what the project runs', () => {
  const upstream = (debian: string) => debian.replace(/[+~-].*$/, '');

  it('docker-compose runs the current pair, Grafana and mailpit at the pinned images', () => {
    const compose = yaml.load(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { image?: string }>;
    };
    for (const name of ['prometheus', 'alertmanager', 'grafana', 'mailpit'])
      expect(compose.services[name]?.image, name).toBe(versions.images[name]);
    const current = versions.pairs.current.packages;
    expect(versions.images.prometheus).toBe(
      `prom/prometheus:v${upstream(current.prometheus?.version ?? '')}`,
    );
    expect(versions.images.alertmanager).toBe(
      `prom/alertmanager:v${upstream(current['prometheus-alertmanager']?.version ?? '')}`,
    );
  });

  it.each(['agent', 'receiver'])(
    '%s/Dockerfile builds on node.images and takes every workspace manifest, naming none',
    (part) => {
      const text = readFileSync(join(ROOT, part, 'Dockerfile'), 'utf8');
      const stages = dockerfileStages(text);
      expect(stages.at(-1)?.image).toBe(versions.images['node-runtime']);
      for (const stage of stages.slice(0, -1)) expect(stage.image).toBe(versions.images['node-build']);
      expect(versions.images['node-build']).toMatch(new RegExp(`^node:${versions.node.images}-`));
      expect(versions.images['node-runtime']).toContain(`nodejs${versions.node.images}-`);
      // Workspaces added later (packages/*) must not need a Dockerfile change to be installed.
      const copies = stages.flatMap((s) => s.instructions.filter((i) => i.op === 'COPY').map((i) => i.args));
      expect(
        copies.filter(
          (c) => /(^|\s)[\w-]+\/package\.json\s/.test(c) && !c.includes(`${part}/package.json ./${part}/`),
        ),
      ).toEqual([]);
    },
  );

  it('package.json engines say the Node.js majors CI tests', () => {
    const engines = versions.node.tested.join(' || ');
    for (const dir of ['.', ...workspaces()]) {
      const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as {
        engines?: { node?: string };
      };
      expect(pkg.engines?.node, `${dir}/package.json`).toBe(engines);
    }
    expect(versions.node.tested).toContain(versions.node.images);
  });
});
