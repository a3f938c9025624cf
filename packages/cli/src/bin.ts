#!/usr/bin/env node
// reflect-metadata must be loaded before any decorated class (tsyringe) is defined.
import 'reflect-metadata';
import { cliVersion } from './version.js';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // The fast path: not even the command parser is loaded.
  process.stdout.write(`llem ${cliVersion()}\n`);
} else {
  const { main } = await import('./main.js');
  process.exitCode = await main(process.argv);
}
