#!/usr/bin/env node
// Signal handlers come first: a Ctrl+C during start-up must still end with exit 130. (Both imports
// are side-effect free and tiny; everything else is imported lazily below.)
import { installBrokenPipeHandlers } from './broken-pipe.js';
import { installEarlySignalHandlers } from './early-signals.js';
import { cliVersion } from './version.js';

installEarlySignalHandlers();
installBrokenPipeHandlers();

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // The fast path: not even the command parser is loaded.
  process.stdout.write(`llem ${cliVersion()}\n`);
} else {
  // reflect-metadata (for tsyringe) is imported by the core modules that define decorated classes.
  const { main } = await import('./main.js');
  process.exitCode = await main(process.argv);
}
