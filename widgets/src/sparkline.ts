/**
 * The sparkline's geometry: the server's throughput points placed in an SVG
 * box, x evenly spaced, y from zero (or the lowest point, if negative) at the
 * bottom to the highest point at the top, so a steady rate reads as a flat
 * line near the top rather than as noise stretched to the full height. It
 * draws the server's numbers; it derives none.
 */

/** The `points` attribute of an SVG polyline for `values` in a width x height box. */
export function sparklinePoints(
  values: readonly number[],
  width: number,
  height: number,
  pad = 1
): string {
  const finite = values.filter(v => Number.isFinite(v));
  if (finite.length === 0) {
    return '';
  }
  const low = Math.min(0, ...finite);
  const high = Math.max(...finite);
  const span = high - low;
  const inner = height - 2 * pad;
  const step = finite.length > 1 ? (width - 2 * pad) / (finite.length - 1) : 0;
  const round = (v: number) => Math.round(v * 10) / 10;
  return finite
    .map((v, i) => {
      const x = pad + i * step;
      const y = span > 0 ? pad + inner * (1 - (v - low) / span) : height / 2;
      return `${round(x)},${round(y)}`;
    })
    .join(' ');
}
