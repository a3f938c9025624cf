// Validates a workload result and a protocol stdout capture against the real @llem/core schemas.
// Usage: tsx validate_with_core.ts <workload-result.json> <stdout.txt>   (exit 0 = valid)
import { readFileSync } from 'node:fs';
import { parseProtocolLine } from '../../../core/src/protocol/events.ts';
import { WorkloadResultSchema } from '../../../core/src/results/workload-result.ts';

const [resultPath, stdoutPath] = process.argv.slice(2);
const parsed = WorkloadResultSchema.safeParse(JSON.parse(readFileSync(resultPath, 'utf8')));
if (!parsed.success) {
  console.error(JSON.stringify(parsed.error.issues, null, 2));
  process.exit(1);
}
for (const line of readFileSync(stdoutPath, 'utf8').split('\n')) {
  if (line === '') continue;
  const event = parseProtocolLine(line);
  if (event.kind !== 'event') {
    console.error(`not a protocol event: ${line} (${event.kind})`);
    process.exit(1);
  }
}
console.log('valid');
