#!/usr/bin/env node
// The `license-rules` command. npm links a package's bin at install time only if the file exists then,
// and build/main.js exists only after `npm run build`: so the bin is this small committed file, which runs
// the built program.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../build/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    `license-rules: not built yet (${fileURLToPath(main)} is missing): run \`npm run build\`\n`,
  );
  process.exit(1);
}
await import(main.href);
