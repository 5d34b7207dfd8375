/**
 * The relay-only room both TURN specs run (turn-embedded.spec.ts, turn-coturn.spec.ts) against a server they
 * started with some TURN configuration: three peers join with `?relay=1` (iceTransportPolicy "relay"), all
 * connect, chat works from a client and from the host, every client row shows `data-route="relay"` on every
 * page (the host's row: no route), and `getStats()` shows each page's every link on a relay/relay pair made by
 * the expected TURN server.
 */
import { expect } from '@playwright/test';
import type { Peers } from './fixtures';
import type { RoomPage } from './pages';
import { expectLinks, iceServers, installPeerConnectionRecorder, relayedThrough } from './rtc-stats';

/** What the room should show about the TURN server in use. */
export interface RelayExpectations {
  /** True for a URL of the TURN server that must have made every relay candidate. */
  turnUrl: (url: string) => boolean;
  /** Human-readable, for messages. */
  describe: string;
}

/** Opens `names` on `baseURL` with `?relay=1`, in order (the first becomes host), each recording its connections. */
export async function joinRelayOnly(peers: Peers, baseURL: string, room: string, names: string[]): Promise<RoomPage[]> {
  const joined: RoomPage[] = [];
  for (const [index, name] of names.entries()) {
    const peer = await peers.open(name, baseURL);
    await peer.page.addInitScript(installPeerConnectionRecorder);
    await peer.join(name, room, 'relay=1');
    if (index === 0) {
      await peer.expectRole('host');
    } else {
      await peer.expectRole('client');
      await peer.waitConnected();
    }
    joined.push(peer);
  }
  for (const peer of joined) await peer.waitConnected();
  return joined;
}

/** The whole scenario; leaves the peers open (the caller closes them before stopping its server). */
export async function relayOnlyRoom(
  peers: Peers,
  baseURL: string,
  room: string,
  turn: RelayExpectations,
): Promise<RoomPage[]> {
  const all = await joinRelayOnly(peers, baseURL, room, ['alice', 'bob', 'carol']);
  const [alice, bob, carol] = all;

  // Every page was handed the expected TURN server (and, below, every link is relay-only and uses it).
  for (const p of all) {
    const urls = (await iceServers(p.page)).flatMap((s) => s.urls);
    expect(urls.some(turn.turnUrl), `${p.label} was handed ${turn.describe} (got ${urls.join(', ')})`).toBe(true);
  }

  // Chat both ways: a client's line reaches everyone through the host, and the host's line every client.
  await bob.sendWithEnter('bob through the relay');
  for (const p of all) await p.expectLines([bob.lineOf('bob through the relay')]);
  await alice.sendWithEnter('alice through the relay');
  const lines = [bob.lineOf('bob through the relay'), alice.lineOf('alice through the relay')];
  for (const p of all) await p.expectLines(lines);
  await carol.sendWithEnter('carol too');
  for (const p of all) await p.expectLines([...lines, carol.lineOf('carol too')]);

  // The app's own report of each link's route...
  for (const p of all) await p.expectRoutes({ alice: null, bob: 'relay', carol: 'relay' });
  // ...and the browser's: the host has one relayed link per client, each client one to the host.
  const relayed = relayedThrough(turn.turnUrl);
  const what = `relay-only, on a relay/relay pair through ${turn.describe}`;
  await expectLinks(alice, 2, relayed, what);
  await expectLinks(bob, 1, relayed, what);
  await expectLinks(carol, 1, relayed, what);
  return all;
}
