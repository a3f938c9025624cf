import { inspect } from 'node:util';
import { expect } from 'vitest';
import { messageOf } from '../errors.js';

/**
 * Asserts that `promise` rejects with an error that passes `check` (a brand check such as
 * `isConfigError`, never instanceof: a plugin may bring its own copy of core) or whose message
 * matches `check` (a RegExp). `rule` says which rule of a contract that is and why; it leads the
 * failure message in both ways of failing, also when the promise resolved (vitest's own
 * `.rejects` drops the message then).
 */
export async function expectRejection(
  promise: Promise<unknown>,
  rule: string,
  check: ((error: unknown) => boolean) | RegExp,
): Promise<void> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    if (check instanceof RegExp) expect(messageOf(error), rule).toMatch(check);
    else expect(error, rule).toSatisfy(check);
    return;
  }
  expect.fail(
    `${rule}: the call resolved (with ${inspect(value, { depth: 1, breakLength: Number.POSITIVE_INFINITY })}) instead of rejecting`,
  );
}
