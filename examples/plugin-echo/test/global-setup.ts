import { buildLlem } from '@llem/test-kit';

/** Builds `llem` and this package (turbo, cached): the CLI test runs the published form of both. */
export default function setup(): void {
  buildLlem(['llem-backend-echo']);
}
