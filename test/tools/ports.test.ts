import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/pipeline.mjs';

// The end-to-end harness asks for all its ports before any program listens: a port handed out twice
// (receiver and Alertmanager on one port) or taken by an outgoing connection fails a run at random.
describe('freePort', () => {
  it('hands out distinct ports below the ephemeral range while none of them is listening yet', async () => {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const ports: number[] = [];
    for (let i = 0; i < 200; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) expect(port).toBeLessThan(low);
  });

  it('skips a port that is taken', async () => {
    const first = await freePort();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(first + 1, '127.0.0.1', resolve));
    try {
      expect(await freePort()).not.toBe(first + 1);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
