/**
 * Thermal design power by CPU model, for the CPU estimate when no config value is given.
 * Deliberately small: vendor TDPs of common server parts. First match wins.
 */
export const TDP_TABLE: ReadonlyArray<{ pattern: RegExp; watts: number }> = [
  { pattern: /EPYC 9654/i, watts: 360 },
  { pattern: /EPYC 9554/i, watts: 360 },
  { pattern: /EPYC 7763/i, watts: 280 },
  { pattern: /EPYC 7742/i, watts: 225 },
  { pattern: /EPYC 7543/i, watts: 225 },
  { pattern: /EPYC 7413/i, watts: 180 },
  { pattern: /Xeon.*Platinum 8480/i, watts: 350 },
  { pattern: /Xeon.*Platinum 8380/i, watts: 270 },
  { pattern: /Xeon.*Platinum 8358/i, watts: 250 },
  { pattern: /Xeon.*Gold 6338/i, watts: 205 },
  { pattern: /Xeon.*Gold 6248/i, watts: 150 },
  { pattern: /Core.*i9-13900K/i, watts: 125 },
  { pattern: /Core.*i7-12700/i, watts: 65 },
];

export function tdpForModel(model: string): number | null {
  return TDP_TABLE.find((e) => e.pattern.test(model))?.watts ?? null;
}
