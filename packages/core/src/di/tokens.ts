/** DI tokens for the plugin contracts. `Symbol.for` so separately bundled copies agree. */
export const TOKENS = {
  StateStore: Symbol.for('llem.StateStore'),
  Runner: Symbol.for('llem.Runner'),
  EnergyMeterFactory: Symbol.for('llem.EnergyMeterFactory'),
  BackendCatalog: Symbol.for('llem.BackendCatalog'),
  Clock: Symbol.for('llem.Clock'),
  Logger: Symbol.for('llem.Logger'),
} as const;
