import { alertBadge } from '../alertBadge';

describe('alertBadge', () => {
  it('shows nothing for a run without firing alerts', () => {
    expect(alertBadge({ alerts: 0, alert: null })).toBeNull();
    // A server from before alerts sends neither field.
    expect(alertBadge({} as any)).toBeNull();
  });

  it('counts the firing alerts, coloured and titled by the most severe', () => {
    const badge = alertBadge({
      alerts: 1,
      alert: { severity: 'critical', message: 'stall on rank 1 of r: no step_s for 60 s' }
    });
    expect(badge).toEqual({
      text: '1 alert',
      severity: 'critical',
      className: 'wb-badge wb-alert-badge wb-alert-critical',
      title: 'stall on rank 1 of r: no step_s for 60 s'
    });
  });

  it('says how many more fire than the one it names', () => {
    const badge = alertBadge({
      alerts: 3,
      alert: { severity: 'info', message: 'input_bound on rank 0' }
    });
    expect(badge?.text).toBe('3 alerts');
    expect(badge?.className).toContain('wb-alert-info');
    expect(badge?.title).toBe('input_bound on rank 0 (and 2 more firing)');
  });

  it('reads an unknown severity or a missing message as a warning', () => {
    const badge = alertBadge({
      alerts: 2,
      alert: { severity: 'fatal' as any, message: '' }
    });
    expect(badge?.severity).toBe('warning');
    expect(badge?.title).toBe('warning alert (and 1 more firing)');
  });
});
