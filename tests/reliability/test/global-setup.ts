import { buildLlem } from '@llem/test-kit';

/** The suite runs the published form: the built `llem` and the built echo backend (turbo, cached). */
export default function setup(): void {
  buildLlem(['llem-backend-echo']);
}
