/**
 * The watchdog that kills a workload's process group when llem dies, even by SIGKILL (Node has no
 * PR_SET_PDEATHSIG). We spawn `/bin/sh -c WATCHDOG_SCRIPT ...` as the leader of a new process group.
 * The shell forks one tiny watcher subshell and then `exec`s the workload, so the workload keeps
 * the pid that llem spawned (pid == pgid) and its exit status reaches llem unchanged. The watcher
 * stays in the group, blocked reading fd 3, a socket whose other end only llem holds. When llem
 * exits or is killed, the kernel closes that end, `read` hits EOF and the watcher stops the group
 * as llem would have: SIGTERM + graceful stop command, wait for the leader up to the grace
 * period, force stop command, SIGKILL to the whole group (itself included).
 * In a normal run llem SIGKILLs the group after the leader exits, which takes the watcher too;
 * while the watcher lives it also pins the pgid, so that kill can never hit a recycled group.
 * A shell costs ~1 ms to start; a Node supervisor would add ~60 ms to every run.
 *
 * Arguments after the script: $0=llem-watchdog, keep-PWD flag, grace ticks (50 ms each),
 * graceful stop argv count and words, force stop argv count and words, then the workload argv.
 * The script only ever expands them as quoted positional parameters: no user text is parsed.
 */
export const WATCHDOG_SCRIPT = `[ "$1" = 1 ] || unset PWD
ticks=$2; shift 2
(
  exec >/dev/null 2>&1 </dev/null
  trap '' TERM INT HUP PIPE
  PATH="$PATH:/usr/bin:/bin"
  while read -r _ <&3; do :; done
  exec 3<&-
  run_first() {
    n=$1; shift; s=; i=1
    while [ "$i" -le "$n" ]; do s="$s \\"\\\${$i}\\""; i=$((i + 1)); done
    eval "$s"
  }
  leader_alive() {
    read -r st < /proc/$$/stat 2>/dev/null || return 1
    case "$st" in *") Z "*) return 1 ;; esac
  }
  kill -TERM 0
  ng=$1; shift
  [ "$ng" -gt 0 ] && run_first "$ng" "$@" &
  shift "$ng"
  nf=$1; shift
  t=0
  while [ "$t" -lt "$ticks" ] && leader_alive; do sleep 0.05; t=$((t + 1)); done
  [ "$nf" -gt 0 ] && run_first "$nf" "$@"
  kill -KILL 0
) &
ng=$1; shift $((ng + 1))
nf=$1; shift $((nf + 1))
exec "$@" 3<&-
`;

export const WATCHDOG_NAME = 'llem-watchdog';
export const WATCHDOG_TICK_MS = 50;

export interface WatchdogArgs {
  keepPwd: boolean;
  graceMs: number;
  graceful?: readonly string[] | undefined;
  force?: readonly string[] | undefined;
  /** The workload argv, argv[0] already resolved to a path. */
  argv: readonly string[];
}

/** The argv for `/bin/sh` that runs `args.argv` under the watchdog. */
export function watchdogShellArgs(args: WatchdogArgs): string[] {
  const graceful = args.graceful ?? [];
  const force = args.force ?? [];
  const ticks = Math.max(1, Math.ceil(args.graceMs / WATCHDOG_TICK_MS));
  return [
    '-c',
    WATCHDOG_SCRIPT,
    WATCHDOG_NAME,
    args.keepPwd ? '1' : '0',
    String(ticks),
    String(graceful.length),
    ...graceful,
    String(force.length),
    ...force,
    ...args.argv,
  ];
}
