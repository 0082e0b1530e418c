// The Prometheus/promtool pairs the report is tested on, in one place: Debian 12's 2.42 (the floor,
// from PATH or .cache/tools) and 3.5.3 from Debian sid (primary), unpacked into .cache/prometheus-3.5.3.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findProgram, ROOT } from '../../scripts/lib/pipeline.mjs';

export interface PrometheusPair {
  version: '2.42' | '3.5.3';
  prometheus: string;
  promtool: string;
}

const SID_DIR = join(ROOT, '.cache/prometheus-3.5.3/usr/bin');

export function prometheusPairs(): PrometheusPair[] {
  const floor = { prometheus: findProgram('prometheus'), promtool: findProgram('promtool') };
  const primary = { prometheus: join(SID_DIR, 'prometheus'), promtool: join(SID_DIR, 'promtool') };
  if (!floor.prometheus || !floor.promtool) {
    throw new Error('prometheus/promtool 2.42 not found: run `node scripts/ensure-installed.mjs`');
  }
  if (!existsSync(primary.prometheus) || !existsSync(primary.promtool)) {
    throw new Error(
      `prometheus/promtool 3.5.3 not found in ${SID_DIR}: apt-get download prometheus promtool from Debian sid and dpkg-deb -x them into .cache/prometheus-3.5.3`,
    );
  }
  return [
    { version: '2.42', prometheus: floor.prometheus, promtool: floor.promtool },
    { version: '3.5.3', ...primary },
  ];
}
