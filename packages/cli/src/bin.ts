#!/usr/bin/env node
// Signal handlers come first: a Ctrl+C during start-up must still end with exit 130.
import { installEarlySignalHandlers } from './early-signals.js';

installEarlySignalHandlers();
// reflect-metadata must be loaded before any decorated class (tsyringe) is defined.
await import('reflect-metadata');
const { cliVersion } = await import('./version.js');

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // The fast path: not even the command parser is loaded.
  process.stdout.write(`llem ${cliVersion()}\n`);
} else {
  const { main } = await import('./main.js');
  process.exitCode = await main(process.argv);
}
