// docker-compose.yml, checked without Docker: Debian's docker-compose (v1) validates it
// (`config -q`), every host path it mounts or builds from exists, and the configs it mounts are
// checked as the containers will read them — Prometheus's by promtool, Alertmanager's by amtool and
// against rules/dist/alertmanager.yaml, the receiver's by the receiver's own parser — with every
// container path mapped to the host file mounted there, and every host name a service of the file.
// promtool and amtool are those of the `current` pair (the versions the compose images run).
// docker-compose, promtool and amtool are required: without them these tests fail rather than skip.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../receiver/src/config.js';
import { type AlertmanagerFragment, alertmanagerConfig } from '../../scripts/lib/pipeline.mjs';
import { type Mount, remapPaths, unmountedPaths } from '../helpers/mounts.js';
import { toolsFor } from '../helpers/tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FILE = join(ROOT, 'docker-compose.yml');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  volumes?: string[];
  ports?: string[];
  depends_on?: string[];
}
interface Compose {
  version: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = () => yaml.load(readFileSync(FILE, 'utf8')) as Compose;
const service = (name: string): ComposeService => {
  const s = compose().services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};

/** A compose volume entry: host (bind mounts, relative to the file) or named volume, and the target. */
function volumeEntry(entry: string): { source: string; target: string; bind: boolean } {
  const [source = '', target = ''] = entry.split(':');
  const bind = source.startsWith('.') || isAbsolute(source);
  return { source: bind ? resolve(ROOT, source) : source, target, bind };
}

/** What a service mounts: bind mounts to their host paths, named volumes to a scratch folder. */
function mountsOf(name: string, scratch: string): Mount[] {
  return (service(name).volumes ?? []).map((entry) => {
    const { source, target, bind } = volumeEntry(entry);
    return { container: target, host: bind ? source : join(scratch, source) };
  });
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    if (e.code === 'ENOENT')
      throw new Error(
        `${command} not found: install it (Debian: apt-get install --no-install-recommends ${command})`,
      );
    throw new Error(`${command} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'lm-compose-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('docker-compose.yml', () => {
  it('is valid for docker-compose v1 (config -q)', () => {
    run('docker-compose', ['-f', FILE, 'config', '-q']);
    expect(compose().version).toMatch(/^(2\.4|3\.8)$/);
  });

  it('has the six services, building the agent and receiver from their Dockerfiles', () => {
    expect(Object.keys(compose().services).sort()).toEqual(
      ['agent', 'alertmanager', 'grafana', 'mailpit', 'prometheus', 'receiver'].sort(),
    );
    for (const name of ['agent', 'receiver']) {
      const build = service(name).build;
      expect(build?.context).toBe('.');
      expect(build?.dockerfile).toBe(`${name}/Dockerfile`);
      expect(existsSync(join(ROOT, build?.dockerfile ?? '')), `${name}/Dockerfile`).toBe(true);
    }
  });

  it('mounts only host paths that exist, and declares every named volume', () => {
    const problems: string[] = [];
    const named = Object.keys(compose().volumes ?? {});
    for (const [name, s] of Object.entries(compose().services))
      for (const entry of s.volumes ?? []) {
        const { source, bind } = volumeEntry(entry);
        if (bind && !existsSync(source)) problems.push(`${name}: ${entry}: ${source} does not exist`);
        if (!bind && !named.includes(source))
          problems.push(`${name}: ${entry}: volume ${source} is not declared`);
      }
    expect(problems).toEqual([]);
  });

  it('publishes ports on 127.0.0.1 only', () => {
    for (const [name, s] of Object.entries(compose().services))
      for (const port of s.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('gives Prometheus a valid config with the rule file of rules/dist, scraping services of this file', () => {
    const mounts = mountsOf('prometheus', scratch);
    const configMount = mounts.find((m) => m.container === '/etc/prometheus/prometheus.yml') as Mount;
    expect(configMount).toBeDefined();
    const config = yaml.load(readFileSync(configMount.host, 'utf8')) as {
      rule_files: string[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    expect(unmountedPaths(config.rule_files, mounts)).toEqual([]);
    const ruleFiles = remapPaths(config.rule_files, mounts);
    expect(ruleFiles).toEqual([join(ROOT, 'rules/dist/calico-license.rules.yaml')]);
    const onHost = join(scratch, 'prometheus.yml');
    writeFileSync(onHost, yaml.dump({ ...config, rule_files: ruleFiles }));
    run(toolsFor('current').promtool, ['check', 'config', onHost]);
    // The rules select job="license-agent".
    expect(config.scrape_configs.map((j) => j.job_name)).toContain('license-agent');
    const targets = [
      ...config.scrape_configs.flatMap((j) => j.static_configs.flatMap((c) => c.targets)),
      ...config.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets)),
    ];
    for (const target of targets)
      expect(Object.keys(compose().services), target).toContain(target.split(':')[0]);
  });

  it('gives Alertmanager rules/dist/alertmanager.yaml merged whole, posting to the receiver service and mailing its own alerts to mailpit', () => {
    const mounts = mountsOf('alertmanager', scratch);
    const file = (mounts.find((m) => m.container === '/etc/alertmanager/alertmanager.yml') as Mount).host;
    run(toolsFor('current').amtool, ['check-config', file]);
    const fragment = yaml.load(
      readFileSync(join(ROOT, 'rules/dist/alertmanager.yaml'), 'utf8'),
    ) as AlertmanagerFragment;
    const webhooks = fragment.receivers[0]?.webhook_configs as { url: string }[];
    expect(webhooks).toHaveLength(1);
    (webhooks[0] as { url: string }).url = 'http://receiver:9095/webhook';
    // The receiver's own alerts go to mailpit by Alertmanager's own email, not through the receiver.
    const ops = fragment.receivers[1] as { email_configs: Record<string, unknown>[] };
    expect(ops.email_configs).toHaveLength(1);
    ops.email_configs[0] = {
      ...ops.email_configs[0],
      to: 'platform-team@compose.invalid',
      from: 'alertmanager@compose.invalid',
      smarthost: 'mailpit:1025',
      require_tls: false,
    };
    expect(yaml.load(readFileSync(file, 'utf8'))).toEqual(yaml.load(alertmanagerConfig(fragment)));
    expect(service('alertmanager').command).toContain('--cluster.listen-address=');
  });

  it('gives the receiver a config its parser accepts, with the runbooks mounted and mail to mailpit', () => {
    const mounts = mountsOf('receiver', scratch);
    const command = service('receiver').command as string[];
    const configPath = command[command.indexOf('--config') + 1] as string;
    const document = yaml.load(readFileSync(remapPaths(configPath, mounts), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(unmountedPaths(document, mounts)).toEqual([]);
    const config = parseConfig(remapPaths(document, mounts), remapPaths(configPath, mounts), {
      secrets: true,
      env: {},
    });
    expect(config.listen.port).toBe(9095);
    expect(config.runbooksDir).toBe(join(ROOT, 'rules/runbooks'));
    expect(statSync(config.runbooksDir as string).isDirectory()).toBe(true);
    // The store is on the named volume, not in the read-only image.
    const data = mounts.find((m) => config.store.path.startsWith(`${m.host}/`));
    expect(data && !data.host.startsWith(ROOT), 'the store is on a named volume').toBe(true);
    const mail = config.channels.find((c) => c.type === 'email');
    expect(mail?.type === 'email' && mail.smtp.host).toBe('mailpit');
    expect(service('receiver').depends_on).toContain('mailpit');
  });

  it('starts the agent on the sample licence, listening where Prometheus scrapes it', () => {
    const mounts = mountsOf('agent', scratch);
    const command = service('agent').command as string[];
    const flag = (name: string) => command.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
    expect(flag('source')).toBe('file');
    expect(remapPaths(flag('license-file'), mounts)).toBe(join(ROOT, 'agent/examples/licensekey.yaml'));
    expect(existsSync(remapPaths(flag('node-count-file') as string, mounts))).toBe(true);
    expect(flag('listen')).toBe('0.0.0.0:9081');
  });

  it('provisions Grafana with the Prometheus service and the licence dashboard', () => {
    const mounts = mountsOf('grafana', scratch);
    const provisioning = remapPaths('/etc/grafana/provisioning', mounts);
    const datasources = yaml.load(
      readFileSync(join(provisioning, 'datasources/prometheus.yaml'), 'utf8'),
    ) as { datasources: { url: string }[] };
    expect(datasources.datasources.map((d) => d.url)).toEqual(['http://prometheus:9090']);
    const dashboards = yaml.load(
      readFileSync(join(provisioning, 'dashboards/license-monitor.yaml'), 'utf8'),
    ) as { providers: { options: { path: string } }[] };
    for (const provider of dashboards.providers) {
      const dir = remapPaths(provider.options.path, mounts);
      expect(existsSync(join(dir, 'calico-license.json')), provider.options.path).toBe(true);
    }
  });
});
