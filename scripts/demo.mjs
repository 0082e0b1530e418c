// `npm run demo`: the agent on the bundled sample licence (expiring in ten days, 95 of 100 nodes),
// printing where its metrics are. Ctrl-C stops it.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const cache = '.cache/demo';
mkdirSync(cache, { recursive: true });
// An hour past ten days, so that the day count reads 10 for the next hour.
const expiry = new Date(Date.now() + 10 * 86_400_000 + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
const licenseFile = join(cache, 'licensekey.yaml');
writeFileSync(
  licenseFile,
  readFileSync('agent/examples/licensekey.yaml', 'utf8').replace(/expiry: ".*"/, `expiry: "${expiry}"`),
);
const listen = process.env.DEMO_LISTEN ?? '127.0.0.1:9081';

console.log(`Starting license-agent on the sample licence (expires ${expiry}, 95 of 100 nodes)…`);
const agent = spawn(
  'agent/dist/main.js',
  [
    '--source',
    'file',
    '--license-file',
    licenseFile,
    '--node-count',
    '95',
    '--listen',
    listen,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);

let shown = false;
agent.stdout.on('data', async (chunk) => {
  process.stdout.write(chunk);
  if (shown || !chunk.toString().includes('license-agent serving')) return;
  shown = true;
  const base = `http://${listen}`;
  const body = await (await fetch(`${base}/metrics`)).text();
  const interesting = body
    .split('\n')
    .filter((l) => /^(license_number_of_days|calico_|license_agent_source_up)/.test(l));
  console.log(`\nMetrics:  ${base}/metrics\nHealth:   ${base}/healthz   Ready: ${base}/readyz\n`);
  console.log(interesting.join('\n'));
  console.log('\nEdit .cache/demo/licensekey.yaml and scrape again: the agent reloads it. Ctrl-C stops.');
});

const stop = () => agent.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
agent.on('exit', (code) => process.exit(code ?? 0));
