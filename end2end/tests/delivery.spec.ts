/**
 * Delivery guarantees one at a time (the chaos spec mixes them): the outbox survives a reload, a peer that
 * missed more than the host's history is told how much, and a host drops and reports data-channel frames a
 * client should never send, without stalling.
 */
import { expect, test } from './fixtures';
import { expectSameLines } from './pages';

test('a line the link lost before a reload is resent from the saved outbox and delivered exactly once', async ({
  peers,
  room,
}) => {
  const [host, bob] = await peers.join(room, ['hana', 'bob']);
  await bob.send('first');
  await host.expectLines([bob.lineOf('first')]);

  // The link now loses bob's app messages in flight: the line is only in bob's outbox when the page goes.
  await bob.page.evaluate(() => {
    window.__p2pDropSends = true;
  });
  await bob.sendWithEnter('typed just before the reload');
  await bob.reload();
  await bob.waitConnected();

  const expected = [bob.lineOf('first'), bob.lineOf('typed just before the reload')];
  for (const p of [host, bob]) await p.expectLines(expected);
  await host.send('after');
  await expectSameLines([host, bob], 3);
  expect(await host.lines()).toEqual([...expected, host.lineOf('after')]);
});

test('a peer that missed more than the history holds gets the rest and a history-gap notice', async ({
  peers,
  room,
}) => {
  const [host, bob, cleo] = await peers.join(room, ['hana', 'bob', 'cleo'], 'history=3');
  await host.send('m0');
  for (const p of [bob, cleo]) await p.expectLines([host.lineOf('m0')]);

  // bob leaves the page (his log position stays in sessionStorage) while six more lines go by.
  await bob.page.goto('about:blank');
  for (let i = 1; i <= 6; i += 1) await host.sendWithEnter(`m${i}`);
  const lastThree = ['m4', 'm5', 'm6'].map((t) => host.lineOf(t));
  await cleo.expectLines(lastThree);

  await bob.page.goto(`${bob.roomPath}?history=3`);
  await bob.waitConnected();
  await bob.expectLines(lastThree);
  const gap = bob.page.getByTestId('history-gap');
  await expect(gap).toBeVisible();
  // m1..m3 left the host's history before bob came back: exactly those three are reported.
  await expect(gap).toHaveAttribute('data-missed', '3');
  await expect(cleo.page.getByTestId('history-gap')).toHaveCount(0);
});

test('a host drops malformed, forged and host-only frames from a client, reports them and keeps relaying', async ({
  peers,
  room,
}) => {
  const [host, bob] = await peers.join(room, ['hana', 'bob']);
  await bob.send('hello');
  await host.expectLines([bob.lineOf('hello')]);

  const sent = await bob.page.evaluate(() => {
    const channel = (window.__p2pChannels ?? []).find((c) => c.readyState === 'open');
    if (!channel) return 0;
    channel.send('{"type":"Send","seq":'); // truncated JSON
    const forged = { from: 'hana#x', seq: 99, epoch: 1, index: 1, payload: { text: 'forged by bob' } };
    channel.send(JSON.stringify({ type: 'Data', ...forged })); // only a host orders messages
    channel.send(JSON.stringify({ type: 'Hello', epoch: 1, acked: 0 })); // host-only frame
    return 3;
  });
  expect(sent).toBe(3);

  const dropped = host.page.getByTestId('dropped-messages');
  await expect(dropped).toHaveAttribute('data-dropped', '3');
  await bob.send('still here');
  const expected = [bob.lineOf('hello'), bob.lineOf('still here')];
  for (const p of [host, bob]) await p.expectLines(expected);
  await expect(bob.page.getByTestId('dropped-messages')).toHaveCount(0);
});
