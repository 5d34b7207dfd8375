/**
 * The stage room: camera streams through the host's star, with Chromium's fake camera and microphone
 * (`--use-fake-device-for-media-stream --use-fake-ui-for-media-stream`, this spec's browser only).
 *
 * 1 host + 3 clients: the host publishes and every client plays it; a client publishes and the other clients and
 * the host play it; unpublishing removes it everywhere; a late joiner gets every published stream; the host closes
 * its page and, after the migration, the remaining publisher's stream plays again on every survivor. Then: mute and
 * the quality preset (the host's uplink figure drops), the `max_streams` cap's refusal, and a shared screen beside
 * a camera. "Playing"
 * means `videoWidth > 0` and new frames presented (`requestVideoFrameCallback`), beside the room's own
 * `data-playing`. Any console error fails the test (fixtures.ts).
 */
import { type Page } from '@playwright/test';
import { CHROMIUM_ARGS } from '../chromium-args.mjs';
import { expect, test, type Peers } from './fixtures';
import { CONNECT_TIMEOUT_MS, LINK_LOSS_TIMEOUT_MS, type RoomPage } from './pages';

test.use({
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  },
});

/** Time for a published stream to reach a receiver and play (renegotiation through the host included). */
const MEDIA_TIMEOUT_MS = 30_000;

function roomPath(room: string): string {
  return `/stage/${encodeURIComponent(room)}`;
}

/**
 * Opens a peer and joins the stage room through the lobby's form (`/?kind=stage&room=R`); with `query` (e.g.
 * `max_streams=1`) it then reopens the room with it.
 */
async function enter(peers: Peers, room: string, name: string, query?: string): Promise<RoomPage> {
  const peer = await peers.open(name);
  peer.name = name;
  peer.room = room;
  await peer.page.goto(`/?kind=stage&room=${encodeURIComponent(room)}`);
  await peer.page.getByTestId('join-name').fill(name);
  await peer.page.getByTestId('join-submit').click();
  await peer.page.waitForURL((url) => url.pathname === roomPath(room), { waitUntil: query ? 'commit' : 'load' });
  if (query) await peer.page.goto(`${roomPath(room)}?${query}`);
  return peer;
}

/** The host's uplink figure (`stage-uplink`, "N kbit/s"), or NaN before the first measurement. */
async function uplinkKbps(host: RoomPage): Promise<number> {
  const text = await host.page.getByTestId('stage-uplink').textContent().catch(() => null);
  return text ? Number.parseInt(text, 10) : NaN;
}

function video(page: Page, publisher: string) {
  return page.locator(`[data-testid="stage-video"][data-publisher="${publisher}"]`);
}

/** Waits until `publisher`'s video plays on `peer`: one element, data-playing, a size, and 3 new frames. */
async function expectPlaying(peer: RoomPage, publisher: string): Promise<void> {
  const v = video(peer.page, publisher);
  await expect(v, `${peer.label} should show ${publisher}'s video`).toHaveCount(1, { timeout: MEDIA_TIMEOUT_MS });
  await expect(v, `${peer.label}: ${publisher}'s video should play`).toHaveAttribute('data-playing', 'true', {
    timeout: MEDIA_TIMEOUT_MS,
  });
  const frames = await v.evaluate(
    (el) =>
      new Promise<{ width: number; frames: number }>((resolve) => {
        const video = el as HTMLVideoElement;
        let frames = 0;
        const done = () => resolve({ width: video.videoWidth, frames });
        const timer = setTimeout(done, 5_000);
        const onFrame = () => {
          frames += 1;
          if (frames >= 3) {
            clearTimeout(timer);
            done();
          } else video.requestVideoFrameCallback(onFrame);
        };
        video.requestVideoFrameCallback(onFrame);
      }),
  );
  expect(frames.width, `${peer.label}: ${publisher}'s video has a size`).toBeGreaterThan(0);
  expect(frames.frames, `${peer.label}: ${publisher}'s video presents new frames`).toBeGreaterThanOrEqual(3);
}

async function publishCamera(peer: RoomPage): Promise<void> {
  const button = peer.page.getByTestId('stage-publish-camera');
  await expect(button).toHaveAttribute('aria-pressed', 'false');
  await button.click();
  await expect(button).toHaveAttribute('aria-pressed', 'true');
  await expect(peer.page.getByTestId('stage-self')).toHaveAttribute('data-playing', 'true', {
    timeout: MEDIA_TIMEOUT_MS,
  });
}

test.describe('stage room', () => {
  test('streams reach every peer through the host, late joiners and host migration included', async ({
    peers,
    room,
  }) => {
    test.setTimeout(300_000);
    const alice = await enter(peers, room, 'alice');
    await alice.expectRole('host');
    const clients: RoomPage[] = [];
    for (const name of ['bob', 'carol', 'dave']) {
      const client = await enter(peers, room, name);
      await client.expectRole('client');
      await client.waitConnected(CONNECT_TIMEOUT_MS);
      clients.push(client);
    }
    const [bob, carol, dave] = clients;
    const everyone = [alice, bob, carol, dave];
    for (const peer of everyone) {
      await peer.expectPeers(['alice', 'bob', 'carol', 'dave'].map((name) => ({ name, host: name === 'alice' })));
    }

    // The host presents: every client plays it.
    await publishCamera(alice);
    for (const client of clients) await expectPlaying(client, 'alice');
    await expect(alice.page.getByTestId('stage-video')).toHaveCount(0);

    // A client raises its hand: the host and the other clients play it, through the host.
    await publishCamera(bob);
    for (const peer of [alice, carol, dave]) await expectPlaying(peer, 'bob');
    await expect(bob.page.getByTestId('stage-video')).toHaveCount(1);

    // Chat beside the stage.
    await carol.page.getByTestId('chat-input').fill('nice slides');
    await carol.page.getByTestId('chat-send').click();
    for (const peer of everyone) await expect(peer.page.getByTestId('chat-line')).toHaveText(['carol: nice slides']);

    // Unpublishing removes it everywhere.
    await bob.page.getByTestId('stage-publish-camera').click();
    await expect(bob.page.getByTestId('stage-self')).toHaveCount(0);
    for (const peer of [alice, carol, dave]) {
      await expect(video(peer.page, 'bob'), `${peer.label} should drop bob's video`).toHaveCount(0, {
        timeout: MEDIA_TIMEOUT_MS,
      });
    }
    await expectPlaying(carol, 'alice');

    // Another client publishes; a late joiner gets every published stream.
    await publishCamera(carol);
    for (const peer of [alice, bob, dave]) await expectPlaying(peer, 'carol');
    const erin = await enter(peers, room, 'erin');
    await erin.expectRole('client');
    await erin.waitConnected(CONNECT_TIMEOUT_MS);
    await expectPlaying(erin, 'alice');
    await expectPlaying(erin, 'carol');

    // The host leaves: a new host is elected and carol's stream plays again on every survivor.
    await alice.close();
    const survivors = [bob, carol, dave, erin];
    for (const peer of survivors) {
      await expect(video(peer.page, 'alice'), `${peer.label} should drop alice's video`).toHaveCount(0, {
        timeout: LINK_LOSS_TIMEOUT_MS,
      });
      await peer.waitConnected(LINK_LOSS_TIMEOUT_MS);
    }
    for (const peer of [bob, dave, erin]) await expectPlaying(peer, 'carol');
    await expect(carol.page.getByTestId('stage-self')).toHaveAttribute('data-playing', 'true');
    await expect(carol.page.getByTestId('stage-publish-camera')).toHaveAttribute('aria-pressed', 'true');
  });

  test('the publisher mutes and lowers its quality, the host sees its uplink drop; the stream cap refuses clearly', async ({
    peers,
    room,
  }) => {
    test.setTimeout(240_000);
    const alice = await enter(peers, room, 'alice', 'max_streams=1');
    await alice.expectRole('host');
    const bob = await enter(peers, room, 'bob', 'max_streams=1');
    const carol = await enter(peers, room, 'carol', 'max_streams=1');
    for (const client of [bob, carol]) await client.waitConnected(CONNECT_TIMEOUT_MS);

    await publishCamera(alice);
    for (const client of [bob, carol]) await expectPlaying(client, 'alice');
    await expect(video(bob.page, 'alice')).toHaveAttribute('data-muted', 'false');

    // Mute is everyone's to see; unmute too.
    await alice.page.getByTestId('stage-mute').click();
    await expect(alice.page.getByTestId('stage-mute')).toHaveAttribute('aria-pressed', 'true');
    for (const client of [bob, carol]) await expect(video(client.page, 'alice')).toHaveAttribute('data-muted', 'true');
    await alice.page.getByTestId('stage-mute').click();
    for (const client of [bob, carol]) await expect(video(client.page, 'alice')).toHaveAttribute('data-muted', 'false');

    // The host's uplink (the sum of what it sends) is visible; a lower quality brings it down.
    // At full quality two copies of the fake camera (about 430 kbit/s each once the encoder ramped up).
    await expect
      .poll(() => uplinkKbps(alice), { message: 'the host measures its uplink at full quality', timeout: 60_000 })
      .toBeGreaterThan(650);
    const full = await uplinkKbps(alice);
    await alice.page.getByTestId('stage-quality').selectOption('low');
    // The low preset caps each video copy at 150 kbit/s (audio and RTP overhead come on top).
    await expect
      .poll(() => uplinkKbps(alice), { message: `uplink under the low preset (was ${full} kbit/s)`, timeout: 30_000 })
      .toBeLessThan(full * 0.75);
    for (const client of [bob, carol]) await expectPlaying(client, 'alice');

    // One stream is the cap: a client's camera is refused with the reason, its button goes back off, and
    // nobody gets a second video.
    await bob.page.getByTestId('stage-publish-camera').click();
    await expect(bob.page.getByTestId('stage-error')).toContainText('the most the host forwards to each client', {
      timeout: MEDIA_TIMEOUT_MS,
    });
    await expect(bob.page.getByTestId('stage-publish-camera')).toHaveAttribute('aria-pressed', 'false');
    for (const peer of [alice, carol]) await expect(video(peer.page, 'bob')).toHaveCount(0);
    await expectPlaying(carol, 'alice');
  });

  test('a shared screen reaches every viewer beside the camera, and stops', async ({ peers, room }) => {
    test.setTimeout(180_000);
    const alice = await enter(peers, room, 'alice');
    await alice.expectRole('host');
    const bob = await enter(peers, room, 'bob');
    await bob.waitConnected(CONNECT_TIMEOUT_MS);
    const screen = (peer: RoomPage) => peer.page.locator('[data-testid="stage-video"][data-kind="screen"]');

    await bob.page.getByTestId('stage-publish-screen').click();
    await expect(bob.page.getByTestId('stage-publish-screen')).toHaveAttribute('aria-pressed', 'true', {
      timeout: MEDIA_TIMEOUT_MS,
    });
    await expect(screen(alice)).toHaveAttribute('data-publisher', 'bob', { timeout: MEDIA_TIMEOUT_MS });
    await expect(screen(alice)).toHaveAttribute('data-playing', 'true', { timeout: MEDIA_TIMEOUT_MS });
    await publishCamera(bob);
    await expect(video(alice.page, 'bob')).toHaveCount(2, { timeout: MEDIA_TIMEOUT_MS });

    await bob.page.getByTestId('stage-publish-screen').click();
    await expect(screen(alice)).toHaveCount(0, { timeout: MEDIA_TIMEOUT_MS });
    await expect(video(alice.page, 'bob')).toHaveCount(1);
    await expectPlaying(alice, 'bob');
  });
});
