// What the programs of this repository share. They never import each other: what two of them need
// alike lives here, in a workspace package with no dependencies of its own.
export {
  DURATION_EXPECTED,
  POSITIVE_DURATION_EXPECTED,
  parseDurationMs,
  parseDurationSeconds,
} from './duration.js';
