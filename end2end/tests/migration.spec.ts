import { expect, test } from './fixtures';
import { expectRoles, expectSameLines, LINK_LOSS_TIMEOUT_MS } from './pages';

test('when the host leaves, the clients elect a new host and keep chatting without a reload', async ({
  peers,
  room,
}) => {
  const [alice, bob, carol] = await peers.join(room, ['alice', 'bob', 'carol']);
  const survivors = [bob, carol];

  await alice.send('before the host left');
  for (const p of [alice, ...survivors]) await p.expectLines([alice.lineOf('before the host left')]);
  for (const p of survivors) {
    await p.markNoReload();
    await p.trackStatus();
  }

  await alice.close();

  // Exactly one survivor becomes host (both were clients, so this proves the election happened).
  await expectRoles(survivors, ['client', 'host'], LINK_LOSS_TIMEOUT_MS);
  for (const p of survivors) await p.waitConnected(LINK_LOSS_TIMEOUT_MS);
  const newHost = (await bob.role()) === 'host' ? bob : carol;
  const expectedPeers = survivors.map((p) => ({ name: p.name, host: p === newHost }));
  for (const p of survivors) {
    await p.expectPeers(expectedPeers, LINK_LOSS_TIMEOUT_MS);
    await expect(p.peer('alice')).toHaveCount(0);
    // The link to alice really went away and a new one came up: not a stale "connected".
    const history = await p.statusHistory();
    expect(history.some((s) => s !== 'connected'), `${p.label}'s status history ${history}`).toBe(true);
    expect(history[history.length - 1]).toBe('connected');
  }

  // Whether the log keeps lines from before the migration is not specified; compare only the new ones.
  const after = (line: string) => line.includes('after migration');
  await bob.send('bob after migration');
  for (const p of survivors) await p.expectLinesWhere(after, [bob.lineOf('bob after migration')]);
  await carol.sendWithEnter('carol after migration');
  const expected = [bob.lineOf('bob after migration'), carol.lineOf('carol after migration')];
  for (const p of survivors) await p.expectLinesWhere(after, expected);
  const agreed = await expectSameLines(survivors, expected.length);
  expect(agreed.filter(after)).toEqual(expected);

  for (const p of survivors) await p.expectNoReload();
});
