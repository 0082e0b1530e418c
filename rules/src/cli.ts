// The `license-rules` command: read thresholds.yaml and an override file, render, write. All
// decisions live in config.ts and render.ts; this file only does the I/O around them.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { argumentError } from '@license-monitor/common';
import { ConfigError, loadConfig } from './config.js';
import { render } from './render.js';

/** thresholds.yaml next to src/ and build/. */
export const DEFAULTS_FILE = fileURLToPath(new URL('../thresholds.yaml', import.meta.url));

export const USAGE = `Usage:
  license-rules render [--config OVERRIDES.yaml] [--out DIR]
  license-rules --help | --version

Renders the Calico Enterprise licence alerts from thresholds.yaml, with the settings in
OVERRIDES.yaml merged on top (only what you change), into DIR (default: dist):
  calico-license.rules.yaml           Prometheus rule file
  calico-license.prometheusrule.yaml  prometheus-operator PrometheusRule
  alertmanager.yaml                   Alertmanager route, receiver and inhibit rules
`;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Runs the command; returns the exit code (0 ok, 1 invalid configuration or I/O error, 2 usage). */
export function run(argv: string[], io: Io = defaultIo): number {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    io.err(`license-rules: ${argumentError(err as Error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    io.out(`${pkg.version}\n`);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'render') {
    const got = positionals.length === 0 ? 'no command' : `"${positionals.join(' ')}"`;
    io.err(`license-rules: got ${got}; expected the command render\n\n${USAGE}`);
    return 2;
  }

  const configFile = values.config;
  let rendered: ReturnType<typeof render>;
  try {
    const defaults = readFileSync(DEFAULTS_FILE, 'utf8');
    const override = configFile === undefined ? undefined : readText(configFile);
    const config = loadConfig(defaults, override, { defaults: 'thresholds.yaml', override: configFile });
    rendered = render(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      const where = configFile === undefined ? 'thresholds.yaml' : `thresholds.yaml + ${configFile}`;
      io.err(
        `license-rules: invalid configuration (${where}):\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`,
      );
      return 1;
    }
    io.err(`license-rules: ${(err as Error).message}\n`);
    return 1;
  }

  const outDir = resolve(values.out ?? 'dist');
  try {
    mkdirSync(outDir, { recursive: true });
    for (const [name, content] of Object.entries(rendered.files)) {
      writeFileSync(join(outDir, name), content);
      io.out(`wrote ${join(outDir, name)}\n`);
    }
  } catch (err) {
    io.err(`license-rules: cannot write to ${outDir}: ${(err as Error).message}\n`);
    return 1;
  }
  for (const note of rendered.notes) io.err(`note: ${note}\n`);
  return 0;
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      out: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`--config: no such file: ${file}`);
    throw new Error(`--config: cannot read ${file}: ${code ?? (err as Error).message}`);
  }
}
