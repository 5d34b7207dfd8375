import { expect, test } from './fixtures';
import { LINK_LOSS_TIMEOUT_MS } from './pages';

// The demo room logs every <P2pFrame> callback (on_negotiating ... on_message) into `event-log`.
test('the Rails-style callbacks fire in order, across a host migration', async ({ peers, room }) => {
  const [alice, bob] = await peers.join(room, ['alice', 'bob']);
  const events = (p: typeof bob) => p.page.getByTestId('event-log').getByTestId('p2p-event');

  await expect(events(bob)).toHaveText(['negotiating', 'connecting', 'connected']);
  await alice.send('hello from the host');
  await expect(events(bob).last()).toHaveText('message from alice');
  await expect(events(alice).last()).toHaveText('message from alice');

  await alice.close();
  // bob loses the host, reconnects and becomes host himself: disconnected, then (re)negotiation, then connected.
  await expect(events(bob).last()).toHaveText('connected', { timeout: LINK_LOSS_TIMEOUT_MS });
  const log = await events(bob).allTextContents();
  const lost = log.indexOf('disconnected');
  expect(lost, `bob's events ${log}`).toBeGreaterThan(2);
  expect(log.slice(lost)).toContain('connected');
  await expect(bob.roleBadge).toHaveText('host');
});
