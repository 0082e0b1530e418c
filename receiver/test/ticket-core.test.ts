// The ticket channels' shared core: the new-firing decision, the document model's four renderings
// (escaping included) and the sizing of a ticket body.

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DeliveryEvent, WireRequest } from '../src/channels/channel.js';
import {
  bullets,
  fromMarkdown,
  link,
  para,
  t,
  toAdf,
  toMarkdown,
  toPlainText,
  toWiki,
} from '../src/channels/doc.js';
import type { CommentKind } from '../src/channels/ticket/content.js';
import { fitting, ticketSummary } from '../src/channels/ticket/content.js';
import {
  decideNew,
  identityLabel,
  type RemoteTicket,
  TicketChannel,
  type TicketRef,
  type TicketStep,
  type TicketSystem,
} from '../src/channels/ticket/lifecycle.js';
import type { GroupView } from '../src/notification.js';
import type { DeliveryRecord } from '../src/outbox/plan.js';
import { plannedEvent } from './fixtures/events.js';
import { fixture } from './fixtures/payloads.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-28T12:00:00Z');
const ref = (key: string, extra: Partial<TicketRef> = {}): TicketRef => ({
  key,
  id: key,
  url: `https://jira.example.com/browse/${key}`,
  ...extra,
});
const remote = (key: string, state: Partial<RemoteTicket>): RemoteTicket => ({
  ref: ref(key),
  open: false,
  wontFix: false,
  ...state,
});

describe('decideNew', () => {
  const window = 7 * DAY;
  const cases: [string, RemoteTicket | undefined, TicketRef | undefined, ReturnType<typeof decideNew>][] = [
    ['no ticket anywhere → create', undefined, undefined, { step: 'create' }],
    [
      'an open ticket → adopt it',
      remote('LIC-1', { open: true }),
      undefined,
      { step: 'adopt', ticket: ref('LIC-1') },
    ],
    [
      'resolved 1 day ago → reopen',
      remote('LIC-1', { resolvedAt: NOW - DAY }),
      undefined,
      { step: 'reopen', ticket: ref('LIC-1') },
    ],
    [
      'resolved exactly at the window edge → reopen',
      remote('LIC-1', { resolvedAt: NOW - window }),
      undefined,
      { step: 'reopen', ticket: ref('LIC-1') },
    ],
    [
      'resolved 1 ms after the window → new ticket naming the old',
      remote('LIC-1', { resolvedAt: NOW - window - 1 }),
      undefined,
      { step: 'create', earlier: ref('LIC-1') },
    ],
    [
      "won't fix, even 1 minute ago → new ticket naming the old",
      remote('LIC-1', { resolvedAt: NOW - 60_000, wontFix: true }),
      undefined,
      { step: 'create', earlier: ref('LIC-1') },
    ],
    [
      'system shows no resolve time: the local one decides',
      remote('LIC-1', {}),
      ref('LIC-1', { resolvedAt: NOW - DAY }),
      { step: 'reopen', ticket: ref('LIC-1') },
    ],
    [
      'no resolve time anywhere → treated as long ago',
      remote('LIC-1', {}),
      undefined,
      { step: 'create', earlier: ref('LIC-1') },
    ],
  ];
  it.each(cases)('%s', (_, r, local, expected) => {
    expect(decideNew(r, local, NOW, window)).toEqual(expected);
  });
});

describe('ticket document renderings', () => {
  const markdown = [
    'Renew **now**: run `kubectl apply -f x|y.yaml` and see [the docs](https://docs.example.com/a_b).',
    '',
    '1. First {step}',
    '2. Second *step* with',
    '   a soft break',
    '',
    '   ```sh',
    '   kubectl get licensekeys {noformat}',
    '   ```',
    '',
    '<script>alert(1)</script> and @platform-team',
  ].join('\n');
  const blocks = fromMarkdown(markdown);

  it('ADF: a doc of known node types, marks and a code block with its language', () => {
    const doc = toAdf(blocks);
    expect(doc).toMatchObject({ type: 'doc', version: 1 });
    const json = JSON.stringify(doc);
    expect(json).toContain('{"type":"text","text":"now","marks":[{"type":"strong"}]}');
    expect(json).toContain('{"type":"text","text":"kubectl apply -f x|y.yaml","marks":[{"type":"code"}]}');
    expect(json).toContain('"marks":[{"type":"link","attrs":{"href":"https://docs.example.com/a_b"}}]');
    expect(json).toContain('"type":"orderedList"');
    expect(json).toContain('{"type":"codeBlock","attrs":{"language":"sh"}');
    // A soft line break in Markdown is a space, not a hard break.
    expect(json).toContain('Second ');
    expect(json).toContain(' with a soft break');
    expect(json).not.toContain('hardBreak');
  });

  it('wiki markup: markup characters from the text are escaped, links and code kept', () => {
    const wiki = toWiki(blocks);
    expect(wiki).toContain('*now*');
    expect(wiki).toContain('{{kubectl apply \\-f x\\|y.yaml}}');
    expect(wiki).toContain('[the docs (docs.example.com)|https://docs.example.com/a_b]');
    expect(wiki).toContain('# First \\{step\\}');
    expect(wiki).toContain('_step_');
    // A code block in a list item stays in the item (a block would restart the numbering).
    expect(wiki).toContain(
      '# Second _step_ with a soft break \\\\ {{kubectl get licensekeys \\{noformat\\}}}',
    );
    // A code block cannot end early: its own closing tag inside is defused.
    expect(toWiki([{ type: 'code', text: 'a {noformat} b' }])).toBe(
      '{noformat}\na { noformat} b\n{noformat}',
    );
  });

  it('wiki markup: a value with newlines cannot start a heading or a macro', () => {
    const wiki = toWiki([para(t('line one\nh1. injected {code}'))]);
    expect(wiki).toBe('line one h1. injected \\{code\\}');
  });

  it('Markdown: HTML and @mentions from the text are defused, code spans keep their content', () => {
    const md = toMarkdown(blocks);
    expect(md).toContain('\\<script\\>');
    expect(md).toContain('@\u200bplatform-team');
    expect(md).toContain('`kubectl apply -f x|y.yaml`');
    expect(md).toContain('   ```sh\n   kubectl get licensekeys {noformat}\n   ```');
    expect(toMarkdown([para(t('# not a heading'))])).toBe('\\# not a heading');
  });

  it('plain text: links spelled out, lists numbered', () => {
    const text = toPlainText([bullets([[t('a'), link('runbook', 'https://r.example.com/x')]]), ...blocks]);
    expect(text).toContain('- arunbook (https://r.example.com/x)');
    expect(text).toContain('1. First {step}');
    expect(text).toContain('    kubectl get licensekeys {noformat}');
  });
});

describe('ticket sizing', () => {
  it('a summary is one line within the limit', () => {
    const group = {
      title: 'CalicoLicenseExpiringSoon cluster=prod',
      summary: `x\n${'y'.repeat(400)}`,
    } as GroupView;
    const summary = ticketSummary(group, 255);
    expect(summary.length).toBeLessThanOrEqual(255);
    expect(summary).not.toContain('\n');
    expect(summary.endsWith('…')).toBe(true);
    expect(ticketSummary({ title: 'A', summary: 'short' } as GroupView, 255)).toBe('A: short');
  });

  it('fitting halves the limits until the body fits', () => {
    const seen: number[] = [];
    const out = fitting(
      { maxAlerts: 64, maxValue: 8000 },
      1000,
      (l) => {
        seen.push(l.maxAlerts);
        return 'x'.repeat(l.maxAlerts * 50);
      },
      (s) => s.length,
    );
    expect(out.length).toBeLessThanOrEqual(1000);
    expect(seen).toEqual([64, 32, 16]);
  });
});

describe('render and send share one decision', () => {
  // A ticket system that is as this channel left it: the local ticket, resolved at its resolvedAt.
  // Its preview names each step; its calls log the same names. render must list what send does.
  class RecordingSystem implements TicketSystem {
    readonly peer = 'Test';
    readonly searchLagMs = 0;
    readonly calls: string[] = [];
    constructor(private readonly local: TicketRef | undefined) {}
    identity(event: DeliveryEvent): string {
      return identityLabel(event);
    }
    async find(): Promise<RemoteTicket | undefined> {
      this.calls.push('find');
      return this.local && this.state(this.local);
    }
    async get(r: TicketRef): Promise<RemoteTicket> {
      this.calls.push('get');
      return this.state(r);
    }
    async create(): Promise<TicketRef> {
      this.calls.push('create');
      return ref('LIC-9');
    }
    async note(): Promise<void> {
      this.calls.push('note');
    }
    async comment(_r: TicketRef, _e: DeliveryEvent, kind: CommentKind): Promise<void> {
      this.calls.push(`comment ${kind}`);
    }
    async resolve(): Promise<void> {
      this.calls.push('resolve');
    }
    async reopen(): Promise<void> {
      this.calls.push('reopen');
    }
    preview(step: TicketStep, _e: DeliveryEvent, r?: TicketRef, kind?: CommentKind): WireRequest[] {
      const name = step === 'find' && r ? 'get' : step === 'comment' ? `comment ${kind}` : step;
      return [{ action: name, body: null }];
    }
    private state(r: TicketRef): RemoteTicket {
      return {
        ref: r,
        open: r.resolvedAt === undefined,
        wontFix: false,
        ...(r.resolvedAt ? { resolvedAt: r.resolvedAt } : {}),
      };
    }
  }
  const settings = (reminderComments: boolean) => ({
    name: 'tickets',
    reopenWindowMs: 7 * DAY,
    reminderComments,
    maxAlerts: 10,
    rateLimit: { perSecond: 10, burst: 10 },
    timeoutMs: 1000,
  });
  const open: DeliveryRecord = {
    state: 'open',
    ref: {},
    firing: ['a1b2c3d4e5f60718'],
    openedAt: NOW - DAY,
    updatedAt: NOW - DAY,
  };
  const closed: DeliveryRecord = { ...open, state: 'closed' };
  const cases: [string, string, DeliveryRecord | undefined, TicketRef | undefined, boolean, boolean][] = [
    ['first firing', 'firing', undefined, undefined, false, false],
    [
      'firing again, resolved a day ago',
      'firing',
      closed,
      ref('LIC-1', { resolvedAt: NOW - DAY }),
      false,
      false,
    ],
    [
      'firing again, resolved long ago',
      'firing',
      closed,
      ref('LIC-1', { resolvedAt: NOW - 30 * DAY }),
      false,
      false,
    ],
    ['alerts joined', 'mixed', { ...open, firing: ['00000000000000m0'] }, ref('LIC-1'), false, false],
    [
      'alerts joined, no ticket known',
      'mixed',
      { ...open, firing: ['00000000000000m0'] },
      undefined,
      false,
      false,
    ],
    ['a reminder', 'firing', open, ref('LIC-1'), true, false],
    ['a reminder, commented', 'firing', open, ref('LIC-1'), true, true],
    ['resolved', 'resolved', open, ref('LIC-1'), false, false],
    ['seen only resolved', 'resolved', undefined, undefined, false, false],
  ];
  it.each(cases)('%s', async (_name, payload, record, local, reminder, comments) => {
    const event = plannedEvent(fixture(payload), { record, reminder, now: NOW });
    const system = new RecordingSystem(local);
    const channel = new TicketChannel(
      'test',
      settings(comments),
      system,
      pino({ level: 'silent' }),
      () => NOW,
    );
    const rendered = channel.render(event, local).map((r) => r.action);
    await channel.send(event, local);
    expect(rendered).toEqual(system.calls);
  });
});
