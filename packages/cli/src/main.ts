import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { Output, printError } from './output.js';
import { cliVersion } from './version.js';

export { cliVersion };

/**
 * The `llem` command tree. Only commander and this file load at start-up: every command's
 * implementation (and with it core, zod, the stores, the backends) is imported inside its
 * action, so `llem --version` and `llem config validate` start fast.
 */

const positiveInt = (flag: string) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError(`${flag} takes a whole number >= 1.`);
  return Number(value);
};
const collect = (value: string, previous: string[] = []) => [...previous, value];
const nonNegativeInt = (flag: string) => (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} takes a whole number >= 0.`);
  return Number(value);
};

/** Options every command that touches the state store accepts. */
function storeOptions(command: Command): Command {
  return command
    .option(
      '--store <name>',
      'state store: sqlite, fs or a plugin name (flag > LLEM_STORE > user config > sqlite)',
    )
    .option('--state-dir <dir>', 'state store directory (default: ~/.local/state/llenergymeasure)');
}

export interface GlobalOptions {
  json?: boolean;
  verbose?: boolean;
}

type Action = (out: Output) => Promise<number | undefined>;

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('llem')
    .description('Measure the energy, throughput and latency of LLM inference.')
    .version(`llem ${cliVersion()}`, '-V, --version', 'print the version')
    .option('--json', 'machine-readable output: JSON lines on stdout')
    .option('-v, --verbose', 'more detail, and stack traces on errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const act =
    (load: (command: Command) => Promise<Action>) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const globals = command.optsWithGlobals() as GlobalOptions;
      const out = new Output({ json: globals.json, verbose: globals.verbose });
      try {
        const action = await load(command);
        setExit((await action(out)) ?? 0);
      } catch (error) {
        printError(error, out);
        setExit(
          typeof (error as { exitCode?: unknown })?.exitCode === 'number'
            ? (error as { exitCode: number }).exitCode
            : 1,
        );
      }
    };

  storeOptions(
    program
      .command('run')
      .description('run an experiment or a study (YAML or JSON)')
      .argument('<config>', 'experiment or study file')
      .option('-m, --model <id>', 'override model')
      .option('-b, --backend <name>', 'override backend')
      .option('-d, --dataset <name>', 'override dataset')
      .option('-n, --n <count>', 'override n (prompts measured)', positiveInt('-n'))
      .option(
        '--batch-size <size>',
        'override <backend>.batch_size (studies too)',
        positiveInt('--batch-size'),
      )
      .addOption(new Option('-p, --precision <p>', 'override precision').choices(['fp32', 'fp16', 'bf16']))
      .option('--set <key=value>', 'override any field: dotted key, YAML value (repeatable)', collect)
      .option('--cycles <count>', 'study: number of cycles', positiveInt('--cycles'))
      .addOption(
        new Option('--order <order>', 'study: cycle order').choices([
          'sequential',
          'interleaved',
          'shuffled',
        ]),
      )
      .addOption(
        new Option(
          '--launch <mode>',
          'where workloads run: local process group, docker container, or auto (docker when ready)',
        ).choices(['auto', 'local', 'docker']),
      )
      .option('--executor <name>', 'how the study runs: local (here, default), slurm, or an executor plugin')
      .option(
        '--executor-config <file>',
        "the executor's settings file (slurm: the job shape, see docs/slurm.md)",
      )
      .option(
        '--executor-option <key=value>',
        'one executor setting, e.g. partition=gpu (repeatable)',
        collect,
      )
      .addOption(
        new Option('--runner <kind>', 'old name of --launch (and of --executor slurm)')
          .choices(['auto', 'local', 'docker', 'slurm'])
          .hideHelp(),
      )
      .option('--slurm-config <file>', 'slurm: old name of --executor-config')
      .option('--partition <name>', 'slurm: partition')
      .option('--account <name>', 'slurm: account')
      .option('--qos <name>', 'slurm: quality of service')
      .option('--time <limit>', 'slurm: time limit per job (e.g. 00:30:00)')
      .option('--gpus-per-experiment <n>', 'slurm: GPUs per job', nonNegativeInt('--gpus-per-experiment'))
      .addOption(
        new Option('--gpu-option <how>', 'slurm: request GPUs as --gres=gpu:N or --gpus=N').choices([
          'gres',
          'gpus',
        ]),
      )
      .option('--cpus-per-task <n>', 'slurm: CPUs per job', positiveInt('--cpus-per-task'))
      .option('--mem <size>', 'slurm: memory per job (e.g. 32G)')
      .option('--sbatch <option>', 'slurm: extra #SBATCH line, e.g. --constraint=a100 (repeatable)', collect)
      .option('--array [k]', 'slurm: one job array, at most k tasks at once', positiveInt('--array'))
      .option('--results-dir <dir>', 'where results go (default ./results)')
      .option('--dry-run', 'print the plan (experiments, hashes, commands, time) and run nothing')
      .option('--force', 're-measure experiments that are already done')
      .option(
        '--max-runs <n>',
        'most experiment-cycles a study may expand to (default 100000)',
        positiveInt('--max-runs'),
      ),
  ).action(
    act(async (cmd) => {
      const { runCommand } = await import('./commands/run.js');
      return (out) => runCommand(cmd, out);
    }),
  );

  program
    .command('exec')
    .description('run one experiment-cycle of a work file (what each job of `run --executor slurm` runs)')
    .argument('<exec-file>', 'written by the executor (slurm: into <study dir>/.llem-slurm/)')
    .option(
      '--index <n>',
      'which run of the file (default: the job array task id)',
      nonNegativeInt('--index'),
    )
    .action(
      act(async (cmd) => {
        const { execCommand } = await import('./commands/exec.js');
        return (out) => execCommand(cmd, out);
      }),
    );

  storeOptions(
    program
      .command('status')
      .description('studies and experiments in the state store: phase, failed, error, attempt')
      .option('--study <id>', 'only this study')
      .addOption(
        new Option('--phase <phase>', 'only this phase').choices(['initialising', 'measuring', 'done']),
      )
      .option('--failed', 'only failed experiments')
      .option(
        '--results-dir <dir>',
        "where the studies' study.json are, for labels and planned runs (default ./results)",
      ),
  ).action(
    act(async (cmd) => {
      const { statusCommand } = await import('./commands/status.js');
      return (out) => statusCommand(cmd.opts(), out);
    }),
  );

  program
    .command('list')
    .description('results in the results directory')
    .option('--results-dir <dir>', 'results directory (default ./results)')
    .action(
      act(async (cmd) => {
        const { listCommand } = await import('./commands/list.js');
        return (out) => listCommand(cmd.opts(), out);
      }),
    );

  storeOptions(
    program
      .command('cleanup')
      .description('mark experiments whose process is gone (stale) as failed')
      .option('--quarantine', 'also move corrupt state records aside (kept under the store, never deleted)'),
  ).action(
    act(async (cmd) => {
      const { cleanupCommand } = await import('./commands/status.js');
      return (out) => cleanupCommand(cmd.opts(), out);
    }),
  );

  const config = program.command('config').description('check, show and describe configs');
  config
    .command('validate')
    .description('validate an experiment or study file (exit 0 valid, 2 invalid)')
    .argument('<file>')
    .option(
      '--max-runs <n>',
      'most experiment-cycles a study may expand to (default 100000)',
      positiveInt('--max-runs'),
    )
    .action(
      act(async (cmd) => {
        const { validateCommand } = await import('./commands/config.js');
        return (out) => validateCommand(cmd.args[0]!, out, cmd.opts());
      }),
    );
  config
    .command('show')
    .description('the resolved config (defaults applied) with its hash, and the settings in effect')
    .argument('[file]')
    .action(
      act(async (cmd) => {
        const { showCommand } = await import('./commands/config.js');
        return (out) => showCommand(cmd.args[0], out);
      }),
    );
  config
    .command('schema')
    .description('JSON Schema of a config or result')
    .addArgument(
      new Argument('[kind]', 'experiment | study | user | result')
        .choices(['experiment', 'study', 'user', 'result'])
        .default('experiment'),
    )
    .action(
      act(async (cmd) => {
        const { schemaCommand } = await import('./commands/config.js');
        return (out) => schemaCommand(cmd.processedArgs[0] as string, out);
      }),
    );

  const results = program.command('results').description('read, compare, export and report results');
  const resultsDirOption = (command: Command) =>
    command.option('--results-dir <dir>', 'results directory (default ./results)');
  resultsDirOption(
    results
      .command('show')
      .description('results as a table: one row per config (mean ± 95 % CI over cycles)')
      .argument('[path]', 'study dir, experiment dir or result.json')
      .option('--per-cycle', 'one row per experiment-cycle instead of one per config'),
  ).action(
    act(async (cmd) => {
      const { resultsShow } = await import('./commands/results.js');
      return (out) => resultsShow(cmd.args[0], cmd.opts(), out);
    }),
  );
  resultsDirOption(
    results
      .command('compare')
      .description('compare two configs: a result, an experiment dir, or <study dir>@<config hash>')
      .argument('<a>')
      .argument('<b>'),
  ).action(
    act(async (cmd) => {
      const { resultsCompare } = await import('./commands/results.js');
      return (out) => resultsCompare(cmd.args[0]!, cmd.args[1]!, cmd.opts(), out);
    }),
  );
  resultsDirOption(
    results
      .command('export')
      .description('export results as a table file (never replaces a file without --force)')
      .argument('[path]')
      .addOption(
        new Option('--format <format>', "file format (default: from -o's extension, else csv)").choices([
          'csv',
          'parquet',
          'json',
        ]),
      )
      .option('-o, --output <file>', 'output file (default ./llem-results.<format>)')
      .option('--force', 'replace the output file if it exists'),
  ).action(
    act(async (cmd) => {
      const { resultsExport } = await import('./commands/results.js');
      return (out) => resultsExport(cmd.args[0], cmd.opts(), out);
    }),
  );
  resultsDirOption(
    results
      .command('report')
      .description('write the report of one study: HTML, or Markdown for -o <name>.md')
      .argument('[path]', 'study dir, experiment dir or result.json (default: the latest study)')
      .option('-o, --output <file>', 'report file, .html or .md (default report.html in the study dir)'),
  ).action(
    act(async (cmd) => {
      const { resultsReport } = await import('./commands/results.js');
      return (out) => resultsReport(cmd.args[0], cmd.opts(), out);
    }),
  );

  program
    .command('doctor')
    .description('check this machine: Docker, GPU energy counters, RAPL, Python env, disk space')
    .action(
      act(async () => {
        const { doctorCommand } = await import('./commands/doctor.js');
        return (out) => doctorCommand(out);
      }),
    );

  program
    .command('setup')
    .description('provision a backend environment')
    .argument('<backend>', 'pytorch')
    .action(
      act(async (cmd) => {
        const { setupCommand } = await import('./commands/setup.js');
        return (out) => setupCommand(cmd.args[0]!, out);
      }),
    );

  return program;
}

/** Runs the CLI and returns the exit code (0 ok, 1 runtime failure, 2 usage/config error, 130 interrupted). */
export async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv as string[]);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code)) return 0;
      // commander already printed the message; a usage mistake is a config error.
      return 2;
    }
    printError(error, new Output({ verbose: argv.includes('--verbose') || argv.includes('-v') }));
    return 1;
  }
  return code;
}
