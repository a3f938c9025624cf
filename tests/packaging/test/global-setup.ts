import { buildLlem } from '@llem/test-kit';
import { publicPackages } from './packages.js';

/** Builds every published package (turbo, cached): the tarballs are packed from their dist/. */
export default function setup(): void {
  buildLlem(publicPackages().map((p) => p.manifest.name));
}
