import { buildLlem } from '@llem/cli/testing';

/** Builds `llem` and this package (turbo, cached): the CLI test runs the published form of both. */
export default function setup(): void {
  buildLlem(['llem-backend-echo']);
}
