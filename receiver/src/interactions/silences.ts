// Alertmanager's silences through its API v2 (0.25 and later): create one matching a group's labels,
// find one the receiver created for a click (by the marker in its comment), expire one. Every failure
// is a ChannelError (network errors and 5xx retryable), so the delivery loop retries the click.
import { HttpClient } from '../channels/http.js';
import type { AuthSettings } from '../schema.js';

export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

/** A silence as GET /api/v2/silences lists it (the fields the receiver reads). */
export interface Silence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  matchers: SilenceMatcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export interface NewSilence {
  labels: Record<string, string>;
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
}

/** Equality matchers for every label, so the silence mutes exactly the group (and nothing wider). */
export function matchersOf(labels: Record<string, string>): SilenceMatcher[] {
  return Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value, isRegex: false, isEqual: true }));
}

export class Silences {
  private readonly http: HttpClient;

  constructor(settings: { url: string; auth?: AuthSettings | undefined; timeoutMs: number }) {
    const auth = settings.auth;
    this.http = new HttpClient({
      peer: 'Alertmanager',
      baseUrl: settings.url,
      timeoutMs: settings.timeoutMs,
      ...(auth
        ? {
            credentials: {
              token: auth.bearerToken,
              user: auth.basic?.username,
              password: auth.basic?.password,
              required: 'credential (slack_interactivity.alertmanager_auth)',
            },
          }
        : {}),
      describe: (body) => (typeof body === 'string' ? body.slice(0, 300) : undefined),
    });
  }

  /** The silences not yet expired whose comment carries `marker` (a click's own silence). */
  async findByMarker(labels: Record<string, string>, marker: string): Promise<Silence | undefined> {
    const query = matchersOf(labels)
      .map((m) => `filter=${encodeURIComponent(`${m.name}=${JSON.stringify(m.value)}`)}`)
      .join('&');
    const answer = await this.http.request<Silence[]>('GET', `/api/v2/silences${query ? `?${query}` : ''}`);
    const list = Array.isArray(answer.body) ? answer.body : [];
    return list.find((s) => s.status?.state !== 'expired' && s.comment?.includes(marker));
  }

  async create(silence: NewSilence): Promise<string> {
    const answer = await this.http.request<{ silenceID?: string }>('POST', '/api/v2/silences', {
      matchers: matchersOf(silence.labels),
      startsAt: new Date(silence.startsAt).toISOString(),
      endsAt: new Date(silence.endsAt).toISOString(),
      createdBy: silence.createdBy,
      comment: silence.comment,
    });
    const id = answer.body?.silenceID;
    if (typeof id !== 'string') throw new Error('Alertmanager answered no silenceID');
    return id;
  }

  async get(id: string): Promise<Silence | undefined> {
    const answer = await this.http.request<Silence>(
      'GET',
      `/api/v2/silence/${encodeURIComponent(id)}`,
      undefined,
      {
        accept: [404],
      },
    );
    return answer.status === 404 ? undefined : answer.body;
  }

  /** Expires the silence; one already expired or gone is fine (a retried unsnooze). */
  async expire(id: string): Promise<void> {
    const path = `/api/v2/silence/${encodeURIComponent(id)}`;
    const answer = await this.http.request('DELETE', path, undefined, { accept: [404, 500] });
    if (answer.status < 300 || answer.status === 404) return;
    // Alertmanager answers 500 "silence … already expired": only that is fine.
    const now = await this.get(id);
    if (now && now.status.state !== 'expired') throw this.http.failure('DELETE', path, answer);
  }
}
