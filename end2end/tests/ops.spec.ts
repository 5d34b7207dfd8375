/**
 * The ops routes of the real server binary: `/healthz` answers, and `/metrics` (Prometheus text format) counts
 * what two real browsers do when they meet in a room: joins by role, routed signals by kind, a negotiation.
 */
import { type APIRequestContext } from '@playwright/test';
import { expect, test } from './fixtures';

/** The value of one series (`name{labels}` exactly as rendered) in a scrape, 0 when absent. */
function value(scrape: string, series: string): number {
  for (const line of scrape.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

async function scrape(request: APIRequestContext): Promise<string> {
  const response = await request.get('/metrics');
  expect(response.status()).toBe(200);
  expect(response.headers()['content-type']).toContain('text/plain; version=0.0.4');
  return response.text();
}

test('healthz answers ok with the open signaling connections', async ({ request }) => {
  const response = await request.get('/healthz');
  expect(response.status()).toBe(200);
  const body = await response.json();
  expect(body.status).toBe('ok');
  expect(typeof body.open_connections).toBe('number');
});

test('metrics count the joins, signals and negotiation of a real room', async ({ peers, request, room }) => {
  const before = await scrape(request);
  for (const name of ['p2p_signaling_connections', 'p2p_sessions', 'p2p_hosts', 'p2p_joins_total']) {
    expect(before, `${name} is exported`).toContain(`# TYPE ${name} `);
  }
  await peers.join(room, ['alice', 'bob']);

  // The host's answer is relayed before bob's link opens, so the counters have moved once bob is connected.
  const after = await scrape(request);
  const grew = (series: string) => value(after, series) - value(before, series);
  expect(grew('p2p_joins_total{role="host"}'), 'host joins').toBeGreaterThanOrEqual(1);
  expect(grew('p2p_joins_total{role="client"}'), 'client joins').toBeGreaterThanOrEqual(1);
  expect(grew('p2p_signals_routed_total{kind="offer"}'), 'offers').toBeGreaterThanOrEqual(1);
  expect(grew('p2p_signals_routed_total{kind="answer"}'), 'answers').toBeGreaterThanOrEqual(1);
  expect(grew('p2p_negotiation_seconds_count'), 'negotiations timed').toBeGreaterThanOrEqual(1);
  expect(grew('p2p_bytes_received_total'), 'bytes in').toBeGreaterThan(0);
  expect(value(after, 'p2p_hosts'), 'alice hosts on this node').toBeGreaterThanOrEqual(1);
  expect(value(after, 'p2p_sessions')).toBeGreaterThanOrEqual(1);
});
