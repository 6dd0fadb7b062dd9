/**
 * The row of a served model endpoint (the Endpoints section): its model,
 * status and firing alerts, its URL as a link to open in a new browser tab,
 * its engine and live figures, and Stop while it serves. Plain React, no
 * JupyterLab: Stop calls `run` with a command id, so the confirmation and
 * the request stay in the command.
 */
import * as React from 'react';

import { IAlertBadge, alertBadge } from '../alertBadge';
import { CommandIDs } from '../commandIds';
import { MISSING, formatAge, formatCountOf, formatNumber, formatRate } from '../format';
import { IEndpoint } from '../types';
import { RunCommand } from './serviceRows';

/** The badge of an endpoint's firing rules (their names its tooltip); null when none fires. */
export function endpointAlertBadge(endpoint: Pick<IEndpoint, 'alerts'>): IAlertBadge | null {
  const names = endpoint.alerts ?? [];
  const badge = alertBadge({
    alerts: names.length,
    alert: { severity: 'warning', message: names[0] ?? '' }
  });
  return badge === null ? null : { ...badge, title: `firing: ${names.join(', ')}` };
}

/** What an endpoint's p99 latency reads: "p99 3.25 ms", "p99 —" before it has one. */
export function formatP99(ms: number | null | undefined): string {
  const text = formatNumber(ms, 3);
  return text === MISSING ? `p99 ${text}` : `p99 ${text} ms`;
}

export function EndpointRow(props: {
  endpoint: IEndpoint;
  /** The endpoint's URL made absolute against the Jupyter server (a proxied URL is relative). */
  href: string;
  now: number;
  run: RunCommand;
}): React.ReactElement {
  const { endpoint, href, now, run } = props;
  const alert = endpointAlertBadge(endpoint);
  const serving = endpoint.status === 'serving';
  return (
    <li className="wb-row wb-endpoint-row" data-id={endpoint.id} data-status={endpoint.status}>
      <div className="wb-row-head">
        <span className="wb-row-title">{endpoint.model}</span>
        {alert !== null && (
          <span className={alert.className} title={alert.title} data-severity={alert.severity}>
            {alert.text}
          </span>
        )}
        <span className={`wb-badge wb-badge-${endpoint.status}`}>{endpoint.status}</span>
      </div>
      <a
        className="wb-link wb-endpoint-url"
        href={href}
        target="_blank"
        rel="noopener noreferrer"
        title={`Open ${endpoint.url} in a new browser tab`}
      >
        {endpoint.url}
      </a>
      <div className="wb-row-facts">
        <span title="inference engine">{endpoint.engine}</span>
        <span title="requests per second, over the last seconds">
          {formatRate(endpoint.requests_per_s, 'req')}
        </span>
        <span title="99th percentile latency, over the last seconds">
          {formatP99(endpoint.p99_ms)}
        </span>
        {endpoint.errors > 0 && (
          <span className="wb-warn">{formatCountOf(endpoint.errors, 'error')}</span>
        )}
        <span className="wb-muted">{formatAge(endpoint.created, now)}</span>
      </div>
      {serving && (
        <div className="wb-row-actions">
          <button
            className="wb-button wb-mod-danger wb-endpoint-stop"
            title="Stop serving: the endpoint closes its port"
            onClick={() => run(CommandIDs.stopEndpoint, { id: endpoint.id })}
          >
            Stop
          </button>
        </div>
      )}
    </li>
  );
}
