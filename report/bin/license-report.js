#!/usr/bin/env node
// The `license-report` command. npm links a workspace's bin only if the file exists at install time,
// and dist/ is built later (npm run build), so the bin is this committed launcher.
try {
  await import('../dist/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/main.js')) throw err;
  process.stderr.write('license-report: not built yet: run `npm run build` in the repository first\n');
  process.exitCode = 1;
}
