/**
 * Sealed history against a malicious client, with real browsers: after the host leaves, a client reports its
 * history to the new host with two forged entries of the former epoch attributed to another peer (one a real
 * entry with its text changed and its seal kept, one with a made-up seal). The new host refuses both, shows
 * who forged them, and tells the server; no survivor ever shows them, and the real history survives.
 */
import { type APIRequestContext } from '@playwright/test';
import { installHistoryForger, type HistoryForger } from './browser-hooks';
import { expect, test } from './fixtures';
import { CONNECT_TIMEOUT_MS, expectSameLines, LINK_LOSS_TIMEOUT_MS } from './pages';

declare global {
  interface Window {
    __p2pForger?: HistoryForger;
  }
}

/** `p2p_forgeries_reported_total` on the server. */
async function reported(request: APIRequestContext): Promise<number> {
  const scrape = await (await request.get('/metrics')).text();
  const line = scrape.split('\n').find((l) => l.startsWith('p2p_forgeries_reported_total '));
  return Number(line?.split(' ')[1] ?? 0);
}

test('a client forging former-epoch history after a migration is refused and reported', async ({
  peers,
  request,
  room,
}) => {
  const [alice] = await peers.join(room, ['alice']);
  const bob = await peers.open('bob');
  await bob.context.addInitScript(installHistoryForger);
  await bob.join('bob', room);
  await bob.expectRole('client');
  const carol = await peers.open('carol');
  await carol.join('carol', room);
  await carol.expectRole('client');
  for (const p of [alice, bob, carol]) await p.waitConnected();

  await alice.send('alice before');
  await carol.send('carol before');
  const before = [alice.lineOf('alice before'), carol.lineOf('carol before')];
  for (const p of [alice, bob, carol]) await p.expectLines(before);
  const reportedBefore = await reported(request);

  // Bob forges entries of carol's in alice's epoch, and waits with his join until carol hosts.
  await bob.page.evaluate(() => {
    const forger = window.__p2pForger;
    if (!forger) throw new Error('no forger installed');
    forger.target = 'carol';
    forger.holdJoins = true;
  });
  await alice.close();
  await carol.expectRole('host', LINK_LOSS_TIMEOUT_MS);
  await bob.page.evaluate(() => window.__p2pForger?.release());
  await bob.expectRole('client', LINK_LOSS_TIMEOUT_MS);
  await bob.waitConnected(LINK_LOSS_TIMEOUT_MS);

  // The new host refused every forged entry (two per History bob sent) and names the forger; the server was told.
  const banner = carol.page.getByTestId('forged-history');
  await expect(banner).toHaveAttribute('data-forgers', 'bob', { timeout: CONNECT_TIMEOUT_MS });
  const sent = await bob.page.evaluate(() => window.__p2pForger?.forged ?? 0);
  expect(sent).toBeGreaterThanOrEqual(2);
  await expect(banner).toHaveAttribute('data-forged', String(sent));
  await expect.poll(() => reported(request), { message: 'the server counted the report' }).toBe(reportedBefore + sent);

  // Anything carol had relayed would reach bob before this line (one ordered channel).
  await carol.send('carol after');
  const expected = [...before, carol.lineOf('carol after')];
  for (const p of [bob, carol]) await p.expectLines(expected);
  const agreed = await expectSameLines([bob, carol], expected.length);
  expect(agreed.some((line) => line.includes('forged'))).toBe(false);
  await expect(bob.page.getByTestId('forged-history')).toHaveCount(0);
});
