/**
 * Loads a secrets env file (`KEY=VALUE` lines, 0600) into os.environ, then runs the harness as
 * `python -m llem_harness` would: `python -c SECRET_ENV_BOOTSTRAP <file> <harness args>`. HF_TOKEN
 * then reaches the harness in neither argv nor the RunSpec env (which --dry-run and logs may show)
 * nor, in a container, `docker inspect` (which shows every `-e` and `--env-file` variable): the
 * container gets the file as a read-only mount instead.
 */
export const SECRET_ENV_BOOTSTRAP = [
  'import os, runpy, sys',
  'with open(sys.argv.pop(1), encoding="utf-8") as env_file:',
  '    for line in env_file:',
  '        key, sep, value = line.rstrip("\\n").partition("=")',
  '        if sep: os.environ[key] = value',
  'runpy.run_module("llem_harness", run_name="__main__", alter_sys=True)',
].join('\n');
