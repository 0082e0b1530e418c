#!/usr/bin/env node
// Entry point of the `license-rules` binary; see cli.ts.
import { run } from './cli.js';

process.exitCode = run(process.argv.slice(2));
