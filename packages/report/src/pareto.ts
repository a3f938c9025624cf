/** A point to rank: higher `throughput` and lower `energy` are both better. */
export interface ParetoPoint {
  throughput: number;
  energy: number;
}

/** True when `a` is at least as good as `b` on both axes and strictly better on one. */
export function dominates(a: ParetoPoint, b: ParetoPoint): boolean {
  return (
    a.throughput >= b.throughput &&
    a.energy <= b.energy &&
    (a.throughput > b.throughput || a.energy < b.energy)
  );
}

/**
 * Indices of the points no other point dominates (the Pareto front of lower energy per token
 * and higher throughput), ordered by throughput ascending. Identical points are all kept.
 * Non-finite points are never on the front.
 */
export function paretoFront(points: readonly ParetoPoint[]): number[] {
  const usable = points.map((p) => Number.isFinite(p.throughput) && Number.isFinite(p.energy));
  const front: number[] = [];
  points.forEach((p, i) => {
    if (!usable[i]) return;
    if (!points.some((q, j) => usable[j] && j !== i && dominates(q, p))) front.push(i);
  });
  return front.sort((i, j) => (points[i] as ParetoPoint).throughput - (points[j] as ParetoPoint).throughput);
}
