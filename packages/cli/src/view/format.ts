/** Number and duration formatting for tables and the live view. */

/** 3 significant figures, no exponent for everyday magnitudes: 312.4 → "312", 0.003124 → "0.00312". */
export function sig3(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  if (magnitude >= 6 || magnitude <= -5) return value.toExponential(2);
  const decimals = Math.max(0, 2 - magnitude);
  return Number(value.toFixed(decimals)).toString();
}

/** 4.2s, 4m 32s, 1h 05m. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  if (seconds < 3600)
    return `${Math.floor(seconds / 60)}m ${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/** An estimated figure, marked as one wherever it is shown: "~12.3 J (est.)". */
export function estimated(text: string): string {
  return `~${text} (est.)`;
}
