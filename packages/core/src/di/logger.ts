/** Where llem's orchestration reports what a user should know (a stale run retried, a cool-down that timed out). */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, debug() {} };
