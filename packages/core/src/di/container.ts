import 'reflect-metadata';
import { type DependencyContainer, container as rootContainer } from 'tsyringe';
import { type Clock, systemClock } from '../clock.js';
import type { BackendCatalog } from '../plugins/backend.js';
import type { EnergyMeter } from '../plugins/energy.js';
import type { Runner } from '../plugins/runner.js';
import type { StateStore } from '../state/store.js';
import { TOKENS } from './tokens.js';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, debug() {} };

export interface ContainerParts {
  stateStore?: StateStore;
  runner?: Runner;
  energyMeter?: EnergyMeter;
  backends?: BackendCatalog;
  clock?: Clock;
  logger?: Logger;
}

/** A child container with the given parts registered under their tokens. */
export function createContainer(parts: ContainerParts = {}): DependencyContainer {
  const child = rootContainer.createChildContainer();
  const register = (token: symbol, value: unknown) => {
    if (value !== undefined) child.register(token, { useValue: value });
  };
  register(TOKENS.StateStore, parts.stateStore);
  register(TOKENS.Runner, parts.runner);
  register(TOKENS.EnergyMeter, parts.energyMeter);
  register(TOKENS.BackendCatalog, parts.backends);
  register(TOKENS.Clock, parts.clock ?? systemClock);
  register(TOKENS.Logger, parts.logger ?? silentLogger);
  return child;
}
