// A PostgreSQL server of our own for a test file: Debian's `postgresql` package (initdb and postgres
// from /usr/lib/postgresql/<version>/bin), a data folder in a temporary directory, 127.0.0.1 on a free
// port, a password for the `postgres` role (scram-sha-256, as a real server asks for one). PostgreSQL
// refuses to run as root: as root the server runs as the ordinary user `lm-postgres` (created when
// missing) through setpriv; as anyone else it runs as you.
//
// One server per test file (initdb takes a second or two); each test takes a database of its own
// (`newSchemaName`, or `createDatabase`). stop() ends the server and removes its folder; restart() and crash() are the
// faults the receiver must live through.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../../scripts/lib/pipeline.mjs';
import { postgresBinDir } from '../../scripts/lib/postgres.mjs';
import { waitFor } from './metrics.js';
import { type Started, start } from './process.js';

const SERVER_USER = 'lm-postgres';
export const PASSWORD = 'pg-test-secret-7f3a';

export { postgresBinDir };

/**
 * Why PostgreSQL tests cannot run here (undefined: they can). Only a missing package is a reason, and
 * not in CI (CI=true): there the tests run and fail, saying what to install.
 */
export function postgresSkipReason(): string | undefined {
  if (postgresBinDir() || process.env.CI === 'true') return undefined;
  return process.env.LM_POSTGRES_BIN
    ? `LM_POSTGRES_BIN=${process.env.LM_POSTGRES_BIN} has no postgres program`
    : 'no PostgreSQL server programs (install Debian\'s "postgresql" package: apt-get install postgresql)';
}

const isRoot = process.getuid?.() === 0;

/** uid and gid of the user the server runs as when we are root (created once, a system user). */
function serverUser(): { uid: number; gid: number } {
  const lookup = () => {
    const uid = Number(execFileSync('id', ['-u', SERVER_USER], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', SERVER_USER], { encoding: 'utf8' }));
    return { uid, gid };
  };
  try {
    return lookup();
  } catch {
    try {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', SERVER_USER], {
        stdio: 'ignore',
      });
    } catch {
      // Created at the same moment by another test file, or useradd is missing: look again below.
    }
    try {
      return lookup();
    } catch {
      return { uid: 65534, gid: 65534 }; // nobody
    }
  }
}

/** The command line that runs `program` as the server's user. */
function asServerUser(program: string, args: string[]): { command: string; args: string[] } {
  if (!isRoot) return { command: program, args };
  const { uid, gid } = serverUser();
  return {
    command: 'setpriv',
    args: [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', program, ...args],
  };
}

export interface PostgresOptions {
  /**
   * As PostgreSQL ships (benchmarks): fsync on and the default 128 MB of shared buffers. Off by
   * default: a test's server stopping abruptly (crash(), a killed postgres) keeps what was committed
   * anyway, as the operating system keeps running; only a power loss would need fsync; and 32 MB of
   * buffers hold what a test writes.
   */
  durable?: boolean;
}

export class TestPostgres {
  private process: Started | undefined;
  private databases = 0;
  private readonly pools = new Set<pg.Pool>();

  private constructor(
    private readonly dir: string,
    private readonly bin: string,
    readonly port: number,
    private readonly options: PostgresOptions,
  ) {}

  /** initdb and start. Throws with the server's output when it cannot start. */
  static async start(options: PostgresOptions = {}): Promise<TestPostgres> {
    const bin = postgresBinDir();
    if (!bin)
      throw new Error(
        `no PostgreSQL server programs${process.env.LM_POSTGRES_BIN ? ` in LM_POSTGRES_BIN=${process.env.LM_POSTGRES_BIN}` : ''}: install Debian's "postgresql" package (apt-get install postgresql)`,
      );
    const dir = mkdtempSync(join(tmpdir(), 'lm-pg-'));
    chmodSync(dir, 0o700);
    if (isRoot) {
      const { uid, gid } = serverUser();
      chownSync(dir, uid, gid);
    }
    const server = new TestPostgres(dir, bin, await freePort(), options);
    try {
      const pwfile = join(dir, 'pwfile');
      writeFileSync(pwfile, `${PASSWORD}\n`);
      if (isRoot) chownSync(pwfile, serverUser().uid, serverUser().gid);
      const init = asServerUser(join(bin, 'initdb'), [
        '-D',
        join(dir, 'data'),
        '-U',
        'postgres',
        '--auth=scram-sha-256',
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--no-locale',
        '--no-sync',
      ]);
      execFileSync(init.command, init.args, { stdio: 'pipe' });
      await server.startServer();
    } catch (err) {
      await server.stop();
      const e = err as { stderr?: Buffer; message: string };
      throw new Error(`PostgreSQL did not start: ${e.stderr?.toString() ?? e.message}`);
    }
    return server;
  }

  /** postgres:<password>@127.0.0.1:<port>/<database> */
  url(database = 'postgres'): string {
    return `postgres://postgres:${PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  /** What the server printed (all its runs). */
  output(): string {
    return this.outputs.join('\n--- restarted ---\n') + (this.process?.output() ?? '');
  }
  private readonly outputs: string[] = [];

  private async startServer(): Promise<void> {
    const settings = [
      `port=${this.port}`,
      'listen_addresses=127.0.0.1',
      `unix_socket_directories=${this.dir}`,
      'max_connections=200',
      `shared_buffers=${this.options.durable ? '128MB' : '32MB'}`,
      `fsync=${this.options.durable ? 'on' : 'off'}`,
      `full_page_writes=${this.options.durable ? 'on' : 'off'}`,
      'log_min_messages=warning',
      'log_min_error_statement=panic',
    ];
    const run = asServerUser(join(this.bin, 'postgres'), [
      '-D',
      join(this.dir, 'data'),
      ...settings.flatMap((s) => ['-c', s]),
    ]);
    const started = start(run.command, run.args);
    this.process = started;
    await waitFor(
      async () => {
        if (started.child.exitCode !== null || started.child.signalCode !== null)
          throw new Error(`postgres exited: ${started.output().slice(-2000)}`);
        const client = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 1000 });
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } catch {
          return false;
        } finally {
          await client.end().catch(() => {});
        }
      },
      30_000,
      'PostgreSQL to accept connections',
    );
  }

  /** A schema name no test of this server used: a store of its own in the `postgres` database. */
  newSchemaName(prefix = 'test'): string {
    return `${prefix}_${++this.schemas}`;
  }
  private schemas = 0;

  /** A new empty database for one test; returns its URL. */
  async createDatabase(prefix = 'test'): Promise<string> {
    const name = `${prefix}_${++this.databases}`;
    await this.query(`CREATE DATABASE ${name}`);
    return this.url(name);
  }

  /** A query as the superuser, on the `postgres` database or the one given. */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    database = 'postgres',
  ): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.url(database) });
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** A pool on a database, closed with the server. */
  pool(url: string): pg.Pool {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on('error', () => {});
    this.pools.add(pool);
    return pool;
  }

  /**
   * Stops the server: `fast` (SIGINT: clients are disconnected, everything committed is written out),
   * or `immediate` (SIGQUIT: as a crash, recovery from the WAL at the next start).
   */
  async down(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const p = this.process;
    if (!p) return;
    this.outputs.push(p.output());
    this.process = undefined;
    await p.stop(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
  }

  /** Starts the stopped server again, on the same port. */
  async up(): Promise<void> {
    if (this.process) return;
    await this.startServer();
  }

  async restart(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.down(mode);
    await this.up();
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.pools].map((p) => p.end()));
    this.pools.clear();
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One PostgreSQL server for the test file: started before its tests, stopped after them. Returns a
 * getter; use it inside tests and hooks only. With `skip`, nothing starts (the tests skip themselves).
 */
export function usePostgres(options: PostgresOptions & { skip?: boolean } = {}): () => TestPostgres {
  let server: TestPostgres | undefined;
  beforeAll(async () => {
    if (options.skip || postgresSkipReason()) return;
    server = await TestPostgres.start(options);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('PostgreSQL is not running for this test file');
    return server;
  };
}
