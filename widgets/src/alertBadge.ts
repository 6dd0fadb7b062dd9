/**
 * The alert badge of a run row: how many of the run's alerts fire now, coloured
 * by the most severe one, whose message is its tooltip. Pure, so the specs run
 * it without JupyterLab.
 */
import { AlertSeverity, IRun } from './types';

const SEVERITIES: AlertSeverity[] = ['info', 'warning', 'critical'];

export interface IAlertBadge {
  /** What the badge reads: "1 alert", "3 alerts". */
  text: string;
  /** The most severe firing alert's severity ("warning" for one the server does not name). */
  severity: AlertSeverity;
  /** The badge's classes: the shared badge look, the alert badge, its severity's colour. */
  className: string;
  /** The tooltip: the most severe alert's message, and how many more fire. */
  title: string;
}

/** The badge of `run`, or null when none of its alerts fires. */
export function alertBadge(
  run: Pick<IRun, 'alerts' | 'alert'>
): IAlertBadge | null {
  const count = run.alerts ?? 0;
  if (count <= 0) {
    return null;
  }
  const named = run.alert?.severity;
  const severity: AlertSeverity =
    named !== undefined && SEVERITIES.includes(named) ? named : 'warning';
  const message = run.alert?.message || `${severity} alert`;
  const more = count - 1;
  return {
    text: `${count} alert${count === 1 ? '' : 's'}`,
    severity,
    className: `wb-badge wb-alert-badge wb-alert-${severity}`,
    title: more > 0 ? `${message} (and ${more} more firing)` : message
  };
}
