import { describe, expect, it } from '@jest/globals';
import { ClientErrorLogBudget } from '../../src/observability/client-error-log-budget.js';
import { createLogger } from '../../src/observability/logger.js';
import { captureLog, parseLogLines, type LogLine } from '../support/log-capture.js';

type Summary = LogLine & { client_address: string; unlogged: number; statuses: Record<string, number> };

/** A budget on a controlled clock, writing to a real pino logger whose lines the test reads. */
function budgetOf(perWindow: number, windowMs = 60_000) {
  const log = captureLog();
  const clock = { now: 1_000_000 };
  const budget = new ClientErrorLogBudget({ perWindow, windowMs, logger: createLogger('info', log.stream), now: () => clock.now });
  const summaries = () => parseLogLines(log.text()) as Summary[];
  return { budget, clock, summaries };
}

describe('ClientErrorLogBudget', () => {
  it('when an address has used its budget, then its next client errors are not logged, and a new window gives it the budget again after summing up the last', () => {
    const { budget, clock, summaries } = budgetOf(2);
    expect([401, 401, 401, 429].map((status) => budget.admit('203.0.113.7', status))).toEqual([true, true, false, false]);
    expect(budget.admit('198.51.100.9', 404)).toBe(true);
    expect(summaries()).toEqual([]);

    clock.now += 60_000;
    expect(budget.admit('203.0.113.7', 401)).toBe(true);
    expect(summaries()).toEqual([
      expect.objectContaining({ level: 40, client_address: '203.0.113.7', unlogged: 2, statuses: { '401': 1, '429': 1 } }),
    ]);
  });

  it('when lines were left out and no client error follows, then the summary is logged when the window ends', async () => {
    const { budget, summaries } = budgetOf(1, 50);
    budget.admit('203.0.113.7', 401);
    budget.admit('203.0.113.7', 401);
    expect(summaries()).toEqual([]);
    // The real timer, on the real clock: the controlled clock does not move, so the window ends by the timer alone.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(summaries()).toEqual([expect.objectContaining({ client_address: '203.0.113.7', unlogged: 1 })]);
  });

  it('when more than 10,000 addresses send client errors in one window, then the ones past them share one budget, summed up as *', () => {
    const { budget, summaries } = budgetOf(1);
    for (let i = 0; i < 10_000; i += 1) expect(budget.admit(`10.0.${i >> 8}.${i & 255}`, 404)).toBe(true);
    expect(budget.admit('203.0.113.7', 401)).toBe(true);
    expect(budget.admit('198.51.100.9', 401)).toBe(false);
    expect(budget.admit('192.0.2.1', 401)).toBe(false);
    budget.flush();
    expect(summaries()).toEqual([expect.objectContaining({ client_address: '*', unlogged: 2, statuses: { '401': 2 } })]);
  });
});
