import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private Docker engine for tests: its own dockerd (data root, exec root, pidfile and socket of
 * its own, no bridge network), started here and stopped by its pid, so a machine's own Docker, if
 * any, is never touched. Images come from a local Debian base made with debootstrap (no registry is
 * reachable from CI), cached in the data root under a tag derived from what goes into it.
 */

export interface PrivateDockerd {
  /** DOCKER_HOST for clients: unix://<dir>/docker.sock. */
  host: string;
  /** The temp dir of the socket, exec root and pidfile. */
  dir: string;
  dataRoot: string;
  pid: number;
  /** A docker client that can build with BuildKit (the one packaged with dockerd when there is one). */
  builder: string;
  /** Stops exactly this daemon (SIGTERM, then SIGKILL after 30 s) and removes its temp dir. */
  stop(): Promise<void>;
}

export type DockerdStart = { daemon: PrivateDockerd } | { skip: string };

/** tests/docker/install-engine.sh: docker.io and debootstrap, installed with apt when missing (root only). */
const INSTALL_SCRIPT = join(import.meta.dirname, '../install-engine.sh');

/** Installs dockerd and debootstrap when missing; returns why they are not there, or null. */
export function ensureDockerPackages(): string | null {
  const run = spawnSync('bash', [INSTALL_SCRIPT], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (run.status === 0) return null;
  return run.stderr.trim().split('\n').pop() || `${INSTALL_SCRIPT} failed (exit ${run.status})`;
}

/** The cache of images between runs: one data root per machine user, locked while a daemon uses it. */
function cachedDataRoot(): { dataRoot: string; release(): void } {
  const base = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'llem', 'docker-tests');
  mkdirSync(base, { recursive: true });
  const lock = join(base, 'data-root.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return { dataRoot: join(base, 'data-root'), release: () => rmSync(lock, { force: true }) };
    } catch {
      const holder = Number(readFileSync(lock, 'utf8'));
      if (holder > 0 && existsSync(`/proc/${holder}`)) break; // another test run: use a fresh one
      rmSync(lock, { force: true }); // left by a run that died
    }
  }
  const fresh = mkdtempSync(join(tmpdir(), 'llem-dockerd-data-'));
  return { dataRoot: fresh, release: () => rmSync(fresh, { recursive: true, force: true }) };
}

/** Starts a private dockerd and waits until it answers `docker info` (60 s at most). */
export async function startPrivateDockerd(log: (line: string) => void = () => {}): Promise<DockerdStart> {
  const notInstalled = ensureDockerPackages();
  if (notInstalled) return { skip: notInstalled };
  const dockerd = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((path) => existsSync(path)) ?? 'dockerd';
  // The socket path must stay under 108 bytes: a short temp dir, not the cache dir.
  const dir = mkdtempSync(join(tmpdir(), 'llem-dockerd-'));
  const { dataRoot, release } = cachedDataRoot();
  const host = `unix://${join(dir, 'docker.sock')}`;
  const daemonLog = openSync(join(dir, 'dockerd.log'), 'a');
  const child = spawn(
    dockerd,
    [
      '--data-root',
      dataRoot,
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'docker.pid'),
      '--host',
      host,
      // No bridge and no iptables rules: nothing on the host's network changes. Containers get
      // no network, which the harness never needs (builtin models, HF_HUB_OFFLINE-style runs).
      '--bridge',
      'none',
      '--iptables=false',
      '--ip-masq=false',
    ],
    { detached: true, stdio: ['ignore', daemonLog, daemonLog] },
  );
  closeSync(daemonLog);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => {
    running = false;
  });
  const builder = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
  const stop = async (): Promise<void> => {
    if (running && child.pid) {
      process.kill(child.pid, 'SIGTERM');
      const killer = setTimeout(() => running && child.pid && process.kill(child.pid, 'SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    }
    release();
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (running && Date.now() < deadline) {
    const info = spawnSync(builder, ['info', '--format', '{{.Driver}}'], {
      env: { ...process.env, DOCKER_HOST: host },
      encoding: 'utf8',
      timeout: 10_000,
    });
    if (info.status === 0) {
      log(`private dockerd ${child.pid} on ${host} (data root ${dataRoot})`);
      return { daemon: { host, dir, dataRoot, pid: child.pid!, builder, stop } };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const tail = readFileSync(join(dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-3).join(' | ');
  await stop();
  return { skip: `dockerd did not start: ${tail || 'no output'}` };
}

/** Runs a docker command against the daemon; throws with its stderr when it fails. */
export function docker(
  daemon: Pick<PrivateDockerd, 'host' | 'builder'>,
  args: readonly string[],
  input?: Buffer,
): string {
  return execFileSync(daemon.builder, args, {
    env: { ...process.env, DOCKER_HOST: daemon.host, DOCKER_BUILDKIT: '1' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 1_200_000,
    ...(input ? { input } : {}),
    stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
}

function imageExists(daemon: PrivateDockerd, tag: string): boolean {
  return (
    spawnSync(daemon.builder, ['image', 'inspect', tag], {
      env: { ...process.env, DOCKER_HOST: daemon.host },
      stdio: 'ignore',
    }).status === 0
  );
}

/** The Debian mirror this machine's apt uses (sources.list or deb822 .sources), for debootstrap. */
export function aptMirror(): string {
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) for (const name of readdirSync(dir).sort()) files.push(join(dir, name));
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const match = /^\s*(?:deb\s+(?:\[[^\]]*\]\s+)?|URIs:\s*)(\S+)/.exec(line);
      if (match && !/security/.test(line) && /^https?:/.test(match[1]!)) return match[1]!.replace(/\/$/, '');
    }
  }
  throw new Error(
    'No Debian mirror in /etc/apt/sources.list(.d): debootstrap needs one to make the base image.',
  );
}

/** What the base image is made of; its hash is the image tag, so a change makes a new one. */
const BASE_RECIPE = {
  suite: 'bookworm',
  variant: 'minbase',
  // python3 = Debian's 3.11, the harness venv's version, so its site-packages can be mounted in.
  include: ['python3', 'python-is-python3', 'ca-certificates'],
  recipe: 2,
} as const;

export function baseImageTag(): string {
  const key = createHash('sha256').update(JSON.stringify(BASE_RECIPE)).digest('hex').slice(0, 12);
  return `llem-test/debian-base:${key}`;
}

/**
 * A Debian bookworm (minbase + Python 3.11) image made with debootstrap and `docker import`, once
 * per data root: later runs find it under the same content-keyed tag.
 */
export function ensureBaseImage(daemon: PrivateDockerd, log: (line: string) => void = () => {}): string {
  const tag = baseImageTag();
  if (imageExists(daemon, tag)) return tag;
  const rootfs = mkdtempSync(join(tmpdir(), 'llem-debootstrap-'));
  try {
    const mirror = aptMirror();
    log(`making ${tag} with debootstrap ${BASE_RECIPE.suite} (about a minute, once)`);
    execFileSync(
      'debootstrap',
      [
        `--variant=${BASE_RECIPE.variant}`,
        `--include=${BASE_RECIPE.include.join(',')}`,
        BASE_RECIPE.suite,
        rootfs,
        mirror,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 900_000 },
    );
    for (const cache of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      for (const name of readdirSync(join(rootfs, cache))) {
        if (name.endsWith('.deb') || name.includes('_')) rmSync(join(rootfs, cache, name), { force: true });
      }
    }
    const tar = execFileSync('tar', ['-C', rootfs, '--numeric-owner', '-c', '.'], {
      maxBuffer: 2 * 1024 * 1024 * 1024,
    });
    docker(daemon, ['import', '--change', 'CMD ["/bin/bash"]', '-', tag], tar);
    return tag;
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

/** The package whose docker/Dockerfile is built (the build context, as in `llem setup pytorch --docker`). */
export const BACKEND_DIR = join(import.meta.dirname, '../../../packages/backend-pytorch');

/**
 * Builds the shipped Dockerfile (BuildKit) with build arguments; returns the build's output.
 * `--network host`: the private daemon has no bridge, so a build step that needs the network
 * (pip) uses the host's.
 */
export function buildImage(
  daemon: PrivateDockerd,
  tag: string,
  buildArgs: Readonly<Record<string, string>>,
  extra: readonly string[] = [],
): string {
  const args = ['build', '--network', 'host', '--progress', 'plain', '-t', tag, '-f', 'docker/Dockerfile'];
  for (const [key, value] of Object.entries(buildArgs)) args.push('--build-arg', `${key}=${value}`);
  return execFileSync(daemon.builder, [...args, ...extra, '.'], {
    cwd: BACKEND_DIR,
    env: { ...process.env, DOCKER_HOST: daemon.host, DOCKER_BUILDKIT: '1' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 3_600_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
