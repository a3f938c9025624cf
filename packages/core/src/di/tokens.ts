/** DI tokens for the plugin contracts. `Symbol.for` so separately bundled copies agree. */
export const TOKENS = {
  StateStore: Symbol.for('llem.StateStore'),
  Runner: Symbol.for('llem.Runner'),
  EnergyMeter: Symbol.for('llem.EnergyMeter'),
  BackendCatalog: Symbol.for('llem.BackendCatalog'),
  Clock: Symbol.for('llem.Clock'),
  Logger: Symbol.for('llem.Logger'),
} as const;
