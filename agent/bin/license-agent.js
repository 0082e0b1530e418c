#!/usr/bin/env -S node --max-semi-space-size=1
// The `license-agent` command. npm links a package's bin at install time only if the file exists then,
// and dist/main.js exists only after `npm run build`: so the bin is this small committed file, which runs
// the built program. The V8 flag is the one src/main.ts explains.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    `license-agent: not built yet (${fileURLToPath(main)} is missing): run \`npm run build\`\n`,
  );
  process.exit(1);
}
await import(main.href);
