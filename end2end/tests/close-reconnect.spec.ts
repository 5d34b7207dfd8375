/**
 * The hook's `close()` and `reconnect()` (the chat page's `?controls=1` knob: `p2p-close`, `p2p-reconnect`): closing
 * leaves the room (the host sees the peer go, `send` is refused so the draft stays), reconnecting joins it again
 * with a fresh ticket and chat works both ways.
 */
import { expect, test } from './fixtures';

test('close leaves the room and reconnect joins it again', async ({ peers, room }) => {
  const [alice, bob] = await peers.join(room, ['alice', 'bob'], 'controls=1');
  await alice.send('before closing');
  await bob.expectLines([alice.lineOf('before closing')]);

  await bob.page.getByTestId('p2p-close').click();
  await expect(bob.p2pStatus).toHaveText('closed');
  await alice.expectPeers([{ name: 'alice', host: true }], 20_000);
  // A closed room refuses the message: the chat page keeps the draft.
  await bob.send('while closed');
  await expect(bob.chatInput).toHaveValue('while closed');
  await expect(bob.errorBox).toHaveCount(0);

  await bob.page.getByTestId('p2p-reconnect').click();
  await bob.waitConnected();
  await bob.expectRole('client');
  await alice.expectPeers([
    { name: 'alice', host: true },
    { name: 'bob', host: false },
  ]);
  await bob.send('after reconnecting');
  await alice.expectLinesWhere((l) => l.includes('after reconnecting'), [bob.lineOf('after reconnecting')]);
  await alice.send('to the reconnected peer');
  await bob.expectLinesWhere((l) => l.includes('reconnected peer'), [alice.lineOf('to the reconnected peer')]);
  expect(await bob.lines(), 'nothing sent while closed').not.toContain(bob.lineOf('while closed'));
});
