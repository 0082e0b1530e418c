import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  extractSection,
  RunbookCatalog,
  resolveRemediation,
  safeUrl,
  silenceUrl,
} from '../src/remediation.js';
import { RUNBOOKS_DIR } from './fixtures/payloads.js';

const catalog = new RunbookCatalog(RUNBOOKS_DIR);

describe('remediation text', () => {
  it('takes the remediation annotation first', () => {
    const r = resolveRemediation(
      {
        alertname: 'CalicoLicenseExpiringSoon',
        annotations: { remediation: '  Renew now.  ', runbook_url: 'https://x.example' },
      },
      catalog,
    );
    expect(r).toEqual({ text: 'Renew now.', source: 'annotation' });
  });

  it('else the Mitigation section of <runbooks_dir>/<alertname>.md, up to the next section', () => {
    const r = resolveRemediation({ alertname: 'CalicoLicenseExpiringSoon', annotations: {} }, catalog);
    expect(r.source).toBe('runbook');
    expect(r.runbookFile).toBe('CalicoLicenseExpiringSoon.md');
    expect(r.text.startsWith('1. Ask the **contract owner**')).toBe(true);
    expect(r.text).toContain('# on the management cluster'); // a comment in a code block is no heading
    expect(r.text).toContain('### Escalation'); // a deeper heading belongs to the section
    expect(r.text).not.toContain('## Related');
  });

  it('else a fallback that points at the runbook URL, or says what is missing', () => {
    const withUrl = resolveRemediation(
      {
        alertname: 'TestNoMitigation',
        annotations: { runbook_url: 'https://runbooks.example.com/TestNoMitigation' },
      },
      catalog,
    );
    expect(withUrl).toEqual({
      source: 'fallback',
      text: 'No remediation text is written for TestNoMitigation. Follow the runbook: https://runbooks.example.com/TestNoMitigation',
    });
    const none = resolveRemediation(
      { alertname: 'Unknown', annotations: { runbook_url: 'javascript:alert(1)' } },
      catalog,
    );
    expect(none.source).toBe('fallback');
    expect(none.text).toContain('No remediation text or runbook is written for Unknown');
    expect(
      resolveRemediation({ alertname: 'X', annotations: {} }, new RunbookCatalog(undefined)).source,
    ).toBe('fallback');
  });

  it('never reads outside the runbooks folder, whatever the alert name', () => {
    for (const name of [
      '../payloads/firing',
      '..',
      'a/b',
      'CalicoLicenseExpiringSoon.md',
      '',
      'x'.repeat(300),
    ])
      expect(catalog.mitigation(name)).toBeUndefined();
  });

  it('re-reads a runbook when it changes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lm-runbooks-'));
    try {
      const file = join(dir, 'A.md');
      writeFileSync(file, '## Mitigation\nfirst\n');
      const c = new RunbookCatalog(dir);
      expect(c.mitigation('A')?.text).toBe('first');
      writeFileSync(file, '## Mitigation\nsecond\n');
      utimesSync(file, new Date(), new Date(Date.now() + 5000));
      expect(c.mitigation('A')?.text).toBe('second');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['# Mitigation\nx', 'x'],
    ['## mitigation ##\nx\n## Next\ny', 'x'],
    ['## Mitigation\n\n## Next', undefined],
    ['## Diagnosis\n```\n## Mitigation\n```\n', undefined],
    ['Text\nMitigation\n==========\nsetext headings are not read', undefined],
  ])('extractSection(%j)', (markdown, expected) => {
    expect(extractSection(markdown, 'Mitigation')).toBe(expected);
  });
});

describe('links', () => {
  it('builds a prefilled silence link from the labels', () => {
    expect(silenceUrl('http://am.example:9093/', { cluster: 'prod "east"', alertname: 'A' })).toBe(
      `http://am.example:9093/#/silences/new?filter=${encodeURIComponent('{alertname="A",cluster="prod \\"east\\""}')}`,
    );
    expect(silenceUrl(undefined, { a: 'b' })).toBeUndefined();
    expect(silenceUrl('ftp://am.example', { a: 'b' })).toBeUndefined();
  });

  it('accepts only http(s) URLs', () => {
    expect(safeUrl('https://x.example/a b')).toBe('https://x.example/a%20b');
    expect(safeUrl('javascript:alert(1)')).toBeUndefined();
    expect(safeUrl('not a url')).toBeUndefined();
  });
});
