import { endpointLabel, named, offered, refuseStoppingEndpoint } from '../choice';
import { CommandIDs } from '../commandIds';
import { stopEndpointConsequence } from '../messages';
import { EndpointRow, endpointAlertBadge, formatP99 } from '../sidebar/endpointRow';
import { byClass, commandsOf, elements, text } from './elements';
import { endpoint } from './fixtures';

const NOW = 1060;
const HREF = 'http://127.0.0.1:8100/';

describe('EndpointRow', () => {
  it('shows a serving endpoint: link, engine, figures and Stop', () => {
    const run = jest.fn();
    const row = EndpointRow({ endpoint: endpoint({}), href: HREF, now: NOW, run });
    expect(row.props['data-id']).toBe('e1');
    expect(row.props['data-status']).toBe('serving');
    expect(text(byClass(row, 'wb-row-head'))).toBe('demoserving');
    const [link] = elements(row).filter(element => element.type === 'a');
    expect(link.props).toMatchObject({ href: HREF, target: '_blank' });
    expect(String(link.props.rel)).toContain('noopener');
    expect(text(link)).toBe('http://127.0.0.1:8100/');
    expect(text(byClass(row, 'wb-row-facts'))).toBe(
      'onnxruntime413 req/sp99 3.25 ms1 min ago'
    );
    expect(byClass(row, 'wb-alert-badge')).toEqual([]);
    expect(commandsOf(row, run)).toEqual({
      'wb-endpoint-stop': [CommandIDs.stopEndpoint, { id: 'e1' }]
    });
  });

  it('links to the URL the section resolved (a proxied URL is relative)', () => {
    const proxied = endpoint({ url: '/proxy/8100/' });
    const href = 'https://hub.example/user/ann/proxy/8100/';
    const row = EndpointRow({ endpoint: proxied, href, now: NOW, run: jest.fn() });
    const [link] = elements(row).filter(element => element.type === 'a');
    expect(link.props.href).toBe(href);
    expect(text(link)).toBe('/proxy/8100/');
  });

  it('shows dashes before anything is measured, and errors when there are some', () => {
    const idle = endpoint({ requests_per_s: null, p99_ms: null, errors: 3 });
    const row = EndpointRow({ endpoint: idle, href: HREF, now: NOW, run: jest.fn() });
    expect(text(byClass(row, 'wb-row-facts'))).toBe('onnxruntime—p99 —3 errors1 min ago');
  });

  it('shows a stopping endpoint without Stop', () => {
    const run = jest.fn();
    const stopping = endpoint({ status: 'stopping' });
    const row = EndpointRow({ endpoint: stopping, href: HREF, now: NOW, run });
    expect(row.props['data-status']).toBe('stopping');
    expect(byClass(row, 'wb-badge-stopping').length).toBe(1);
    expect(commandsOf(row, run)).toEqual({});
  });

  it('badges the firing rules, their names its tooltip', () => {
    const firing = endpoint({ alerts: ['p99_above_target', 'error_rate'] });
    const row = EndpointRow({ endpoint: firing, href: HREF, now: NOW, run: jest.fn() });
    const [badge] = byClass(row, 'wb-alert-badge');
    expect(text(badge)).toBe('2 alerts');
    expect(badge.props.title).toBe('firing: p99_above_target, error_rate');
    expect(text(byClass(row, 'wb-row-head'))).toBe('demo2 alertsserving');
  });
});

describe('endpointAlertBadge', () => {
  it('is null when no rule fires, or when the server sends no alerts', () => {
    expect(endpointAlertBadge({ alerts: [] })).toBeNull();
    expect(endpointAlertBadge({} as any)).toBeNull();
  });
  it('names the one firing rule', () => {
    expect(endpointAlertBadge({ alerts: ['p99_above_target'] })).toEqual({
      text: '1 alert',
      severity: 'warning',
      className: 'wb-badge wb-alert-badge wb-alert-warning',
      title: 'firing: p99_above_target'
    });
  });
});

describe('formatP99', () => {
  it('reads milliseconds to three digits, a dash without a unit when missing', () => {
    expect(formatP99(3.254)).toBe('p99 3.25 ms');
    expect(formatP99(1234.5)).toBe('p99 1,235 ms');
    expect(formatP99(null)).toBe('p99 —');
    expect(formatP99(NaN)).toBe('p99 —');
  });
});

describe('stopping an endpoint', () => {
  const endpoints = [endpoint({}), endpoint({ id: 'e2', status: 'stopping' })];
  it('offers only the serving ones and refuses a stopping one by id', () => {
    expect(offered(endpoints, refuseStoppingEndpoint).map(e => e.id)).toEqual(['e1']);
    expect(() => named(endpoints, e => e.id, 'e2', refuseStoppingEndpoint)).toThrow(
      'the endpoint at http://127.0.0.1:8100/ is stopping already'
    );
  });
  it('labels an endpoint by model, engine and URL', () => {
    expect(endpointLabel(endpoint({}))).toBe('demo (onnxruntime) http://127.0.0.1:8100/');
  });
  it('says what stopping does before it is confirmed', () => {
    expect(stopEndpointConsequence(endpoint({}))).toBe(
      'demo (onnxruntime) at http://127.0.0.1:8100/, serving 413 requests/s now, stops ' +
        'and closes its port: whoever calls it gets no answer after that.'
    );
  });
});
