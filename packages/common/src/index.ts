// What the programs of this repository share. They never import each other: what two of them need
// alike lives here, in a workspace package with no dependencies of its own.

export { argumentError } from './cli.js';
export {
  DURATION_EXPECTED,
  POSITIVE_DURATION_EXPECTED,
  parseDurationMs,
  parseDurationSeconds,
} from './duration.js';
export { FACT_NAMES, FACTS, type Fact, TIME_FACTS } from './facts.js';
export { parseRfc3339, RFC3339_EXPECTED } from './time.js';
