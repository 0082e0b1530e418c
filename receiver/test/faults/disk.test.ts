// Fault injection with a real full disk: the built receiver runs with its store on a small tmpfs, in
// its own mount namespace (`unshare -rm`, which needs no root; skipped where user namespaces are not
// allowed). A control FIFO fills the volume and frees it again. Sent is sent: the message Slack took
// while the disk was full is recorded once space is back, never posted again, and the resolve edits it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../../../test/fakes/slack-api.js';
import { waitFor } from '../../../test/helpers/metrics.js';
import { type Started, start } from '../../../test/helpers/process.js';
import { fixture } from '../fixtures/payloads.js';

const BIN = new URL('../../dist/main.js', import.meta.url).pathname;

/**
 * Whether this machine lets us mount a tmpfs in a namespace of our own (no root needed where user
 * namespaces are allowed; a container without them skips the case).
 */
function canUnshare(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'lm-unshare-'));
  try {
    execFileSync('unshare', ['-r', '-m', '-p', '-f', '--kill-child', 'mount', '-t', 'tmpfs', 'tmpfs', dir], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The shell in the namespace: mounts the tmpfs, starts the receiver, then obeys the FIFO.
const SCRIPT = `
set -e
mount -t tmpfs -o size=4m tmpfs "$VOLUME"
"$NODE" "$BIN" serve --config "$CONFIG" &
while :; do
  read -r cmd < "$CTL/fifo"
  case "$cmd" in
    fill) dd if=/dev/zero of="$VOLUME/fill" bs=4096 2>/dev/null || true; touch "$CTL/filled" ;;
    free) rm -f "$VOLUME/fill"; touch "$CTL/freed" ;;
  esac
done
`;

const available = canUnshare();
let ctl: string;
let volume: string;
let slack: FakeSlack;
let receiver: Started | undefined;
beforeAll(async () => {
  ctl = mkdtempSync(join(tmpdir(), 'lm-disk-'));
  volume = join(ctl, 'volume');
  mkdirSync(volume);
  slack = await FakeSlack.start({ rateLimit: false });
});
afterEach(async () => {
  // The shell is PID 1 of its PID namespace (--kill-child): killing unshare ends the receiver too.
  await receiver?.stop('SIGKILL');
  receiver = undefined;
});
afterAll(async () => {
  await slack?.close();
  rmSync(ctl, { recursive: true, force: true });
});

async function command(cmd: 'fill' | 'free'): Promise<void> {
  const ack = join(ctl, cmd === 'fill' ? 'filled' : 'freed');
  rmSync(ack, { force: true });
  writeFileSync(join(ctl, 'fifo'), `${cmd}\n`);
  await waitFor(() => existsSync(ack), 5000, `the volume ${cmd === 'fill' ? 'filled' : 'freed'}`);
}

describe.skipIf(!available)('a full disk under the store (tmpfs in a mount namespace)', () => {
  it('503 and not ready while full; what Slack took is recorded once space is back, never posted again', async () => {
    const config = join(ctl, 'receiver.yaml');
    writeFileSync(
      config,
      yaml.dump({
        listen: '127.0.0.1:0',
        store: { path: join(volume, 'receiver.db') },
        delivery: { poll_interval: '50ms', backoff: { initial: '100ms', max: '500ms' } },
        channels: [
          {
            name: 'slack',
            type: 'slack',
            token_env: 'SLACK_BOT_TOKEN',
            channel: '#platform-alerts',
            api_url: slack.apiUrl,
            timeout: '5s',
          },
        ],
        default_channels: ['slack'],
      }),
    );
    execFileSync('mkfifo', [join(ctl, 'fifo')]);
    receiver = start('unshare', ['-r', '-m', '-p', '-f', '--kill-child', 'sh', '-c', SCRIPT], {
      NODE: process.execPath,
      BIN,
      CONFIG: config,
      VOLUME: volume,
      CTL: ctl,
      SLACK_BOT_TOKEN: slack.token,
    });
    const serving = await waitFor(
      () => receiver?.logs().find((l) => l.msg === 'license-receiver serving'),
      10_000,
      'the receiver to serve',
    );
    const url = String(serving.url);
    const post = (body: unknown) =>
      fetch(`${url}/webhook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ready = async () => (await fetch(`${url}/readyz`)).status;

    // Slack takes the post and answers after 1.5 s; the disk fills meanwhile.
    slack.failNext({ delayMs: 1500 }, 1, 'chat.postMessage');
    expect((await post(fixture('firing'))).status).toBe(200);
    await waitFor(() => slack.messages.length === 1, 5000, 'the post to reach Slack');
    await command('fill');
    expect((await post(fixture('resolved'))).status).toBe(503);
    expect(await ready()).toBe(503);
    await waitFor(
      () => slack.callsOf('chat.postMessage')[0]?.answeredAt !== undefined,
      5000,
      'Slack to answer',
    );
    await new Promise((r) => setTimeout(r, 1000)); // the outcome cannot be written; nothing is resent
    expect(await ready()).toBe(503);
    expect(slack.callsOf('chat.postMessage')).toHaveLength(1);

    await command('free');
    await waitFor(async () => (await ready()) === 200, 10_000, 'ready again once space is back');
    expect((await post(fixture('resolved'))).status).toBe(200); // Alertmanager's retry
    await waitFor(() => slack.roots()[0]?.updates.length === 1, 10_000, 'the resolve to edit the message');
    expect(slack.roots()).toHaveLength(1);
    expect(slack.roots()[0]?.text).toMatch(/RESOLVED/i);
    const logs = receiver.logs().map((l) => l.msg);
    expect(logs).toContain('delivery outcome recorded');
  });
});
