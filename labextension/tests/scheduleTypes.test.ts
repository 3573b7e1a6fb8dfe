import { describeTiming } from '../src/scheduleTypes';

describe('describeTiming', () => {
  it('shows a cron expression with its time zone', () => {
    expect(describeTiming({ cron: '0 3 * * *', interval: null, timezone: 'Europe/Berlin' })).toBe('0 3 * * * (Europe/Berlin)');
    expect(describeTiming({ cron: '0 3 * * *', interval: null, timezone: 'UTC' })).toBe('0 3 * * * (UTC)');
  });

  it('shows intervals in the largest whole unit', () => {
    expect(describeTiming({ cron: null, interval: 900, timezone: 'UTC' })).toBe('every 15 min');
    expect(describeTiming({ cron: null, interval: 7200, timezone: 'UTC' })).toBe('every 2 h');
    expect(describeTiming({ cron: null, interval: 172800, timezone: 'UTC' })).toBe('every 2 d');
  });
});
