// Where PostgreSQL's server programs are, for ensure-installed.mjs (install them when missing) and
// the tests that start a server of their own (test/helpers/postgres.ts). Types: postgres.d.mts.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The folder of initdb and postgres: LM_POSTGRES_BIN when set, else the newest version of Debian's
 * package (/usr/lib/postgresql/<version>/bin), else pg_config's; undefined without any.
 */
export function postgresBinDir() {
  const override = process.env.LM_POSTGRES_BIN;
  if (override) return existsSync(join(override, 'postgres')) ? override : undefined;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  try {
    const dir = execFileSync('pg_config', ['--bindir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    // no pg_config
  }
  return undefined;
}
