import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Builds @llem/loadgen and this package (tsc): the workload is the built dist/workload/main.js
 * (it imports loadgen's dist), and the scripted server runs as its own process from loadgen's dist.
 * The CLI test builds `llem` itself.
 */
export default function setup(): void {
  execFileSync('pnpm', ['--filter', '@llem/loadgen', '--filter', '@llem/backend-openai', 'run', 'build'], {
    cwd: fileURLToPath(new URL('../../../', import.meta.url)),
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 600_000,
  });
}
