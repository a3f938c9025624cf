import { definePlugin } from '@llem/core';
import { createFsStateStore } from './fs-state-store.js';

/** `--store fs`: records as JSON files in the state directory. */
export default definePlugin({
  kind: 'store',
  name: 'fs',
  create: (options) => createFsStateStore({ dir: options?.dir }),
});
