import { expect, test } from './fixtures';
import { LINK_LOSS_TIMEOUT_MS } from './pages';

test('peer list grows 1 -> 2 -> 3 on every page and drops a peer that leaves', async ({ peers, room }) => {
  const alice = await peers.open('alice');
  await alice.join('alice', room);
  await alice.expectRole('host');
  await alice.expectPeers([{ name: 'alice', host: true }]);

  const bob = await peers.open('bob');
  await bob.join('bob', room);
  await bob.waitConnected();
  const two = [
    { name: 'alice', host: true },
    { name: 'bob', host: false },
  ];
  for (const p of [alice, bob]) await p.expectPeers(two);

  const carol = await peers.open('carol');
  await carol.join('carol', room);
  await carol.waitConnected();
  const three = [...two, { name: 'carol', host: false }];
  for (const p of [alice, bob, carol]) {
    await p.expectPeers(three);
    await expect(p.peers.and(p.page.locator('[data-host="true"]'))).toHaveCount(1);
    await expect(p.peer('alice')).toHaveAttribute('data-host', 'true');
  }

  await bob.close();
  for (const p of [alice, carol]) {
    await expect(p.peers, `${p.label}'s list after bob left`).toHaveCount(2, { timeout: LINK_LOSS_TIMEOUT_MS });
    await expect(p.peer('bob')).toHaveCount(0);
    await p.expectPeers([
      { name: 'alice', host: true },
      { name: 'carol', host: false },
    ]);
    await p.waitConnected();
  }
});
