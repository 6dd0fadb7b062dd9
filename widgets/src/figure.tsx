/**
 * A plotly figure from the server, drawn by whatever JupyterLab renders
 * `application/vnd.plotly.v1+json` with (plotly's own extension,
 * jupyterlab-plotly); this package bundles no plotting library. Without such
 * a renderer, each trace's points show as a plain table.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { formatCell } from './format';
import { IFigure } from './types';

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** How many points of each trace the fallback table lists. */
const FALLBACK_ROWS = 50;

export function Figure(props: {
  figure: IFigure;
  rendermime: IRenderMimeRegistry;
  className?: string;
}): React.ReactElement {
  const { figure, rendermime } = props;
  const bundle = { [PLOTLY_MIME]: figure } as unknown as ReadonlyPartialJSONObject;
  const renderable = rendermime.preferredMimeType(bundle, 'any') === PLOTLY_MIME;
  const host = React.useRef<HTMLDivElement>(null);
  const renderer = React.useRef<IRenderMime.IRenderer | null>(null);

  React.useEffect(() => {
    if (!renderable || host.current === null) {
      return;
    }
    if (renderer.current === null) {
      renderer.current = rendermime.createRenderer(PLOTLY_MIME);
    }
    const widget = renderer.current;
    // Attached first, so that the renderer sizes the figure to its host.
    if (!widget.isAttached && host.current.isConnected) {
      Widget.attach(widget, host.current);
    }
    const model = rendermime.createModel({ data: bundle, trusted: true });
    void widget.renderModel(model);
  }, [figure, renderable]);

  // A layout effect's cleanup runs before React takes the host out of the
  // page, while the renderer can still be detached from it.
  React.useLayoutEffect(
    () => () => {
      renderer.current?.dispose();
      renderer.current = null;
    },
    []
  );

  if (!renderable) {
    return <FigureTable figure={figure} className={props.className} />;
  }
  return <div className={`wb-figure ${props.className ?? ''}`} ref={host} />;
}

/** Each trace's x and y as a table: what a figure shows, with no renderer to draw it. */
function FigureTable(props: { figure: IFigure; className?: string }): React.ReactElement {
  const title = textOf(props.figure.layout?.title);
  const xTitle = axisTitle(props.figure, 'xaxis') ?? 'x';
  const yTitle = axisTitle(props.figure, 'yaxis') ?? 'y';
  return (
    <div className={`wb-figure wb-figure-table ${props.className ?? ''}`}>
      {title && <div className="wb-figure-title">{title}</div>}
      {props.figure.data.map((trace, i) => {
        const x = trace.x ?? [];
        const y = trace.y ?? [];
        const n = Math.max(x.length, y.length);
        return (
          <table className="wb-grid" key={i}>
            {trace.name && <caption>{trace.name}</caption>}
            <thead>
              <tr>
                <th>{xTitle}</th>
                <th>{yTitle}</th>
              </tr>
            </thead>
            <tbody>
              {Array.from({ length: Math.min(n, FALLBACK_ROWS) }, (_, row) => (
                <tr key={row}>
                  <td>{formatCell(x[row])}</td>
                  <td>{formatCell(y[row])}</td>
                </tr>
              ))}
              {n > FALLBACK_ROWS && (
                <tr>
                  <td colSpan={2} className="wb-muted">
                    … {n - FALLBACK_ROWS} more
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        );
      })}
    </div>
  );
}

/** A plotly title: a string, or `{text}`. */
function textOf(title: unknown): string | null {
  if (typeof title === 'string') {
    return title;
  }
  if (title !== null && typeof title === 'object') {
    const text = (title as { text?: unknown }).text;
    return typeof text === 'string' ? text : null;
  }
  return null;
}

function axisTitle(figure: IFigure, axis: 'xaxis' | 'yaxis'): string | null {
  const layout = figure.layout?.[axis];
  return layout !== null && typeof layout === 'object'
    ? textOf((layout as { title?: unknown }).title)
    : null;
}
