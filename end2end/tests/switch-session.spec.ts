/**
 * `<P2pFrame>`'s session prop is reactive: the chat page's `?switch_to=ROOM` knob (a `switch-room` button) moves
 * the frame to another room in place, without a navigation. The frame must leave the old room (its host sees the
 * peer go) and join the new one (a client of that room's host, with an empty log), and chat there only.
 */
import { expect, test } from './fixtures';

test('switching the session in place leaves the old room and joins the new one', async ({ peers, room }) => {
  const other = `s-${Date.now()}`;
  const [carol] = await peers.join(other, ['carol']);
  const [alice, bob] = await peers.join(room, ['alice', 'bob'], `switch_to=${other}`);
  await alice.send('before the switch');
  await bob.expectLines([alice.lineOf('before the switch')]);
  const navigations: string[] = [];
  bob.page.on('framenavigated', (frame) => {
    if (frame === bob.page.mainFrame()) navigations.push(frame.url());
  });

  await bob.page.getByTestId('switch-room').click();

  await expect(bob.page.locator('.p2p-frame')).toHaveAttribute('data-session', `chat_room_${other}`);
  await bob.expectRole('client');
  await bob.waitConnected();
  await bob.expectPeers([
    { name: 'carol', host: true },
    { name: 'bob', host: false },
  ]);
  await carol.expectPeers([
    { name: 'carol', host: true },
    { name: 'bob', host: false },
  ]);
  // The old room's host saw bob leave (the old driver closed its link), and bob's log starts over.
  await alice.expectPeers([{ name: 'alice', host: true }], 20_000);
  await bob.expectLines([]);

  await bob.send('hello new room');
  await carol.expectLines([bob.lineOf('hello new room')]);
  await bob.expectLines([bob.lineOf('hello new room')]);
  await alice.send('only for the old room');
  await alice.expectLines([alice.lineOf('before the switch'), alice.lineOf('only for the old room')]);
  await expect.poll(() => bob.lines(), { timeout: 2_000 }).toEqual([bob.lineOf('hello new room')]);
  expect(navigations, 'the switch happens in place, without a navigation').toEqual([]);
});
