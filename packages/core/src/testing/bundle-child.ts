import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Esbuild {
  buildSync(options: Record<string, unknown>): unknown;
}

/**
 * esbuild as the test's package or core resolves it (an optional peer dependency), else the one
 * tsx brings: a repository that runs its tests through tsx needs nothing more.
 */
function loadEsbuild(from: string): Esbuild {
  for (const base of [from, import.meta.url]) {
    try {
      return createRequire(base)('esbuild') as Esbuild;
    } catch {
      // not resolvable from here: try the next place
    }
  }
  const tsxManifest = createRequire(from).resolve('tsx/package.json');
  return createRequire(tsxManifest)('esbuild') as Esbuild;
}

/** The nearest folder above `file` that holds a package.json. */
function packageRootOf(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${file}`);
  }
}

export interface BundleChildOptions {
  /** Packages left for the child to load at run time (native modules such as better-sqlite3). */
  external?: readonly string[];
}

/**
 * Bundles a TypeScript child-process entry into one minified CommonJS file (dev-source
 * condition), so each spawned writer starts in ~0.1 s instead of ~0.5 s through tsx. The output
 * lives in the entry's package, under node_modules/.cache, so its external modules still resolve.
 */
export function bundleChild(entry: URL, name: string, options: BundleChildOptions = {}): string {
  const entryPath = fileURLToPath(entry);
  const outDir = join(packageRootOf(entryPath), 'node_modules', '.cache', 'llem-test');
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, `${name}.cjs`);
  loadEsbuild(entryPath).buildSync({
    entryPoints: [entryPath],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    conditions: ['dev-source'],
    external: [...(options.external ?? [])],
    logLevel: 'warning',
    outfile,
  });
  return outfile;
}
