// The GitHub Issues requests of each lifecycle step, as they go on the wire. Pure.
// https://docs.github.com/rest/issues/issues and https://docs.github.com/rest/issues/comments
import type { DeliveryEvent, WireRequest } from '../channel.js';
import { toMarkdown } from '../doc.js';
import { bySeverity } from '../ticket/config.js';
import {
  type CommentDoc,
  type ContentLimits,
  type EarlierTicket,
  fitting,
  ticketDescription,
  ticketSummary,
} from '../ticket/content.js';
import type { GitHubChannelSettings } from './config.js';

/** GitHub's limits: issue title and issue/comment body, in characters. */
export const GITHUB_LIMITS = { title: 256, body: 65_536 } as const;
/** Cap for each free-text value, so that one huge annotation leaves room for the rest. */
const MAX_VALUE = 20_000;

export type GitHubTarget = Pick<
  GitHubChannelSettings,
  'owner' | 'repo' | 'labels' | 'severityLabels' | 'assignees' | 'maxAlerts'
>;

export interface GitHubRequest {
  method: 'GET' | 'POST' | 'PATCH';
  /** Path and query below the API URL. */
  path: string;
  body?: unknown;
}

export function repoPath(s: GitHubTarget): string {
  return `/repos/${encodeURIComponent(s.owner)}/${encodeURIComponent(s.repo)}`;
}

function issuePath(s: GitHubTarget, number: string): string {
  return `${repoPath(s)}/issues/${encodeURIComponent(number)}`;
}

/** The newest issue with the identity label, open or closed. The list API is consistent (search lags). */
export function findRequest(s: GitHubTarget, identity: string): GitHubRequest {
  const query = new URLSearchParams({
    labels: identity,
    state: 'all',
    sort: 'created',
    direction: 'desc',
    per_page: '1',
  });
  return { method: 'GET', path: `${repoPath(s)}/issues?${query.toString()}` };
}

export function getRequest(s: GitHubTarget, number: string): GitHubRequest {
  return { method: 'GET', path: issuePath(s, number) };
}

export function createRequest(
  s: GitHubTarget,
  event: DeliveryEvent,
  identity: string,
  earlier?: EarlierTicket,
): GitHubRequest {
  const body = fitted(s, (limits) => toMarkdown(ticketDescription(event, identity, limits, earlier)));
  const severity = bySeverity(s.severityLabels, event.group.severity);
  return {
    method: 'POST',
    path: `${repoPath(s)}/issues`,
    body: {
      title: ticketSummary(event.group, GITHUB_LIMITS.title),
      body,
      labels: uniqueLabels([...s.labels, ...(severity ? [severity] : []), identity]),
      ...(s.assignees.length > 0 ? { assignees: s.assignees } : {}),
    },
  };
}

export function commentRequest(s: GitHubTarget, number: string, doc: CommentDoc): GitHubRequest {
  const body = fitted(s, (limits) => toMarkdown(doc(limits)));
  return { method: 'POST', path: `${issuePath(s, number)}/comments`, body: { body } };
}

export function closeRequest(s: GitHubTarget, number: string): GitHubRequest {
  return {
    method: 'PATCH',
    path: issuePath(s, number),
    body: { state: 'closed', state_reason: 'completed' },
  };
}

export function reopenRequest(s: GitHubTarget, number: string): GitHubRequest {
  return { method: 'PATCH', path: issuePath(s, number), body: { state: 'open', state_reason: 'reopened' } };
}

export function toWire(request: GitHubRequest): WireRequest {
  return { action: `${request.method} ${request.path}`, body: request.body ?? null };
}

function fitted(s: GitHubTarget, render: (limits: ContentLimits) => string): string {
  // String length counts UTF-16 units, never fewer than GitHub's code points: a safe measure.
  return fitting(
    { maxAlerts: s.maxAlerts, maxValue: MAX_VALUE },
    GITHUB_LIMITS.body,
    render,
    (out) => out.length,
  );
}

/** Labels in order, each once (GitHub compares label names case-insensitively). */
function uniqueLabels(labels: string[]): string[] {
  const seen = new Set<string>();
  return labels.filter((l) => {
    const key = l.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
