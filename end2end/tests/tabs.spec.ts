import { expect, test } from './fixtures';

test('one user in two tabs is two peers, and both tabs chat', async ({ peers, room }) => {
  const [alice, bob] = await peers.join(room, ['alice', 'bob']);
  const bobTab = await peers.openTab(bob, 'bob (second tab)');
  await bobTab.expectRole('client');
  await bobTab.waitConnected();

  // Same user name twice in the list (two tab nonces), host first.
  for (const p of [alice, bob, bobTab]) {
    await expect(p.peers).toHaveCount(3);
    await expect(p.peer('bob')).toHaveCount(2);
    await expect(p.peers.and(p.page.locator('[data-state="connected"]'))).toHaveCount(3);
  }
  await bob.send('from the first tab');
  await bobTab.expectLines([bob.lineOf('from the first tab')]);
  await bobTab.send('from the second tab');
  const expected = [bob.lineOf('from the first tab'), bob.lineOf('from the second tab')];
  for (const p of [alice, bob, bobTab]) await p.expectLines(expected);
});
