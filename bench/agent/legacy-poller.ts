// The legacy approach, as Tigera's licence agent did it: a full list of every Node every poll
// interval (no pagination, full objects), kept only to count them. Run as a child process so that
// its CPU time and memory are its own.
import { KubeClient } from '../../agent/src/sources/kube-client.js';
import { loadConnection } from '../../agent/src/sources/kubeconfig.js';

const [kubeconfig, intervalMs] = process.argv.slice(2);
const client = new KubeClient(loadConnection(kubeconfig));

async function poll(): Promise<void> {
  const list = (await client.get('/api/v1/nodes', {}, 'application/json')) as { items: unknown[] };
  process.stdout.write(`${JSON.stringify({ nodes: list.items.length, bytes: client.bytesReceived })}\n`);
}

process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await poll();
const timer = setInterval(
  () => void poll().catch((err: Error) => process.stderr.write(`${err.message}\n`)),
  Number(intervalMs),
);
process.on('SIGTERM', () => {
  clearInterval(timer);
  process.exit(0);
});
