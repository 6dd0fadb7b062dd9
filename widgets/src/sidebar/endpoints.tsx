/** The Endpoints section: served model endpoints, oldest first (`GET endpoints`). */
import * as React from 'react';

import { IEndpointList } from '../types';
import { EndpointRow } from './endpointRow';
import { ISectionContext, PolledSection } from './section';

export class EndpointsSection extends PolledSection<IEndpointList> {
  constructor(context: ISectionContext) {
    super(context, { label: 'Endpoints', className: 'wb-section-endpoints' });
  }

  protected fetch(): Promise<IEndpointList> {
    return this.context.api.endpoints();
  }

  protected renderData({ endpoints }: IEndpointList): React.ReactElement {
    if (endpoints.length === 0) {
      return (
        <div className="wb-empty">
          No model is served. Serve one from a notebook with{' '}
          <code>wb.infer.serve(model, example=x)</code>.
        </div>
      );
    }
    const now = Date.now() / 1000;
    const { api } = this.context;
    const run = this.run.bind(this);
    return (
      <ul className="wb-list">
        {endpoints.map(endpoint => (
          <EndpointRow
            key={endpoint.id}
            endpoint={endpoint}
            href={api.absoluteUrl(endpoint.url)}
            now={now}
            run={run}
          />
        ))}
      </ul>
    );
  }
}
