import { expect, test } from './fixtures';
import { LINK_LOSS_TIMEOUT_MS } from './pages';

test('a client that reloads reconnects without leaving a duplicate behind', async ({ peers, room }) => {
  const [alice, bob] = await peers.join(room, ['alice', 'bob']);
  await alice.markNoReload();
  await bob.send('before reload');
  await alice.expectLines([bob.lineOf('before reload')]);

  await bob.reload();
  await bob.waitConnected();
  await bob.expectRole('client');
  await alice.expectRole('host');
  // Connected again in the new document, not a leftover from the old one.
  await expect.poll(async () => (await bob.marks()).connected.length).toBeGreaterThan(0);

  const both = [
    { name: 'alice', host: true },
    { name: 'bob', host: false },
  ];
  // The old link is closed and replaced: exactly one bob, connected (may take a heartbeat timeout to settle).
  await alice.expectPeers(both, LINK_LOSS_TIMEOUT_MS);
  await expect(alice.peer('bob')).toHaveCount(1);
  await bob.expectPeers(both);

  // History replay after a reload is not specified: compare only the new lines.
  const after = (line: string) => line.includes('after reload');
  await bob.send('bob after reload');
  await alice.send('alice after reload');
  const expected = [bob.lineOf('bob after reload'), alice.lineOf('alice after reload')];
  for (const p of [alice, bob]) await p.expectLinesWhere(after, expected);

  await alice.expectNoReload();
});
