import type { ReportData } from '../model.js';
import { csv } from './csv.js';
import { html } from './html.js';
import { json } from './json.js';
import { markdown } from './markdown.js';

export const FORMATS = ['md', 'csv', 'json', 'html'] as const;
export type Format = (typeof FORMATS)[number];

export function formatReport(format: Format, data: ReportData): string {
  switch (format) {
    case 'md':
      return markdown(data.report);
    case 'csv':
      return csv(data.report);
    case 'json':
      return json(data.report);
    case 'html':
      return html(data);
  }
}
