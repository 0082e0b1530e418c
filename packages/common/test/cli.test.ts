// parseArgs's errors, as every command prints them.
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { argumentError } from '../src/index.js';

const OPTIONS = { config: { type: 'string', short: 'c' }, help: { type: 'boolean' } } as const;

function errorOf(args: string[], allowPositionals = true): string {
  try {
    parseArgs({ args, options: OPTIONS, strict: true, allowPositionals });
  } catch (err) {
    return argumentError(err as Error);
  }
  throw new Error(`${args.join(' ')} parsed`);
}

describe('argumentError', () => {
  it.each([
    [['--foo'], 'unknown option --foo'],
    [['-x'], 'unknown option -x'],
    [['render', '--colour'], 'unknown option --colour'],
    [['--config'], '--config needs a value'],
    [['-c'], '--config needs a value'],
  ])('%j → %s', (args, message) => {
    expect(errorOf(args)).toBe(message);
  });

  it("keeps parseArgs's words for what it does not rephrase", () => {
    expect(errorOf(['extra'], false)).toMatch(/^Unexpected argument 'extra'/);
  });
});
