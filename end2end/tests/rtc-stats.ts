/**
 * How each RTCPeerConnection of a page is connected, read from `getStats()` in the page: the app does not expose
 * its connections, so an init script records every one the page creates (`installPeerConnectionRecorder`), and
 * `linkStats` reads the selected candidate pair of each. Used by the TURN and NAT specs to prove that a link really
 * runs through a relay (and which TURN server made it), independently of the app's own `data-route`.
 */
import { expect, type Page } from '@playwright/test';
import type { RoomPage } from './pages';

declare global {
  interface Window {
    /** Every RTCPeerConnection this document created, in creation order (see installPeerConnectionRecorder). */
    __p2pPeerConnections?: RTCPeerConnection[];
  }
}

/**
 * Init script: replaces `window.RTCPeerConnection` with a subclass that records each instance in
 * `window.__p2pPeerConnections`. A subclass, so `instanceof`, the static `generateCertificate` and every handler
 * the app sets keep working. Runs before any page script, on every navigation. Self-contained (serialized).
 */
export function installPeerConnectionRecorder(): void {
  if (window.__p2pPeerConnections) return;
  const connections: RTCPeerConnection[] = [];
  Object.defineProperty(window, '__p2pPeerConnections', { value: connections, enumerable: false });
  const Native = window.RTCPeerConnection;
  class RecordingPeerConnection extends Native {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      connections.push(this);
    }
  }
  Object.defineProperty(window, 'RTCPeerConnection', {
    value: RecordingPeerConnection,
    writable: true,
    configurable: true,
  });
}

/** One ICE candidate of a pair, as `getStats()` reports it. */
export interface CandidateInfo {
  /** `host`, `srflx`, `prflx` or `relay`. */
  type: string;
  /** Empty for a remote prflx candidate (Chromium hides it). */
  address: string;
  /** For a local srflx/relay candidate: the STUN/TURN URL that produced it. */
  url: string | null;
}

/** One connected RTCPeerConnection of a page. */
export interface LinkStats {
  /** `getConfiguration().iceTransportPolicy`. */
  policy: string;
  /** Every URL of `getConfiguration().iceServers`. */
  iceUrls: string[];
  /** The selected candidate pair; null while none is selected. */
  local: CandidateInfo | null;
  remote: CandidateInfo | null;
  /** `local/remote` candidate types of every pair that ever succeeded (the selected one included). */
  succeeded: string[];
}

/** Stats of every recorded connection whose `connectionState` is `connected` (closed, older ones are skipped). */
export async function linkStats(page: Page): Promise<LinkStats[]> {
  return page.evaluate(async () => {
    const links = [];
    for (const pc of window.__p2pPeerConnections ?? []) {
      if (pc.connectionState !== 'connected') continue;
      const report = await pc.getStats();
      const rows: Record<string, unknown>[] = [];
      report.forEach((row: Record<string, unknown>) => rows.push(row));
      const byId = (id: unknown) => rows.find((r) => r.id === id);
      const transport = rows.find((r) => r.type === 'transport' && r.selectedCandidatePairId);
      const pairs = rows.filter((r) => r.type === 'candidate-pair');
      const selected = transport
        ? byId(transport.selectedCandidatePairId)
        : pairs.find((p) => p.nominated === true && p.state === 'succeeded');
      const candidate = (id: unknown) => {
        const c = byId(id);
        return c
          ? { type: String(c.candidateType), address: String(c.address ?? ''), url: (c.url as string) ?? null }
          : null;
      };
      const config = pc.getConfiguration();
      links.push({
        policy: String(config.iceTransportPolicy),
        iceUrls: (config.iceServers ?? []).flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls])),
        local: selected ? candidate(selected.localCandidateId) : null,
        remote: selected ? candidate(selected.remoteCandidateId) : null,
        succeeded: pairs
          .filter((p) => p.state === 'succeeded')
          .map((p) => `${candidate(p.localCandidateId)?.type}/${candidate(p.remoteCandidateId)?.type}`),
      });
    }
    return links;
  });
}

/** Every candidate pair of every recorded connection (closed ones included) that ever succeeded. */
export async function succeededPairs(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const found: string[] = [];
    for (const pc of window.__p2pPeerConnections ?? []) {
      if (pc.connectionState === 'closed') continue; // a closed connection's getStats() rejects
      const report = await pc.getStats();
      report.forEach((row: Record<string, unknown>) => {
        if (row.type === 'candidate-pair' && row.state === 'succeeded') found.push(String(row.id));
      });
    }
    return found;
  });
}

/** How many RTCPeerConnections the page created (to be sure a negative check looked at real connections). */
export async function peerConnectionCount(page: Page): Promise<number> {
  return page.evaluate(() => (window.__p2pPeerConnections ?? []).length);
}

/**
 * A relay-only link (iceTransportPolicy "relay") whose selected pair is relay/relay: its local candidate is a TURN relay made by a
 * server whose URL satisfies `turnUrl`, its remote end is the other peer's relay, reported as `relay`, or as
 * `prflx` when that peer's first check arrived before its candidate.
 */
export function relayedThrough(turnUrl: (url: string) => boolean): (link: LinkStats) => boolean {
  return (link) =>
    link.policy === 'relay' &&
    link.local?.type === 'relay' &&
    turnUrl(link.local.url ?? '') &&
    (link.remote?.type === 'relay' || link.remote?.type === 'prflx');
}

/**
 * A link through a TURN relay at one end at least (the other end may reach that relay from its NAT's address,
 * a srflx/prflx candidate: with the default policy that pair wins over relay/relay), and that never succeeded on
 * a pair without a relay (no direct path).
 */
export function relayedAtOneEnd(link: LinkStats): boolean {
  const relayed = (pair: string) => pair.split('/').includes('relay');
  return (
    (link.local?.type === 'relay' || link.remote?.type === 'relay') &&
    link.succeeded.length > 0 &&
    link.succeeded.every(relayed)
  );
}

/**
 * Waits until `peer` has exactly `links` connected RTCPeerConnections and every one satisfies `accept`
 * (described by `what` in the failure message, which shows the stats of the last poll).
 */
export async function expectLinks(
  peer: RoomPage,
  links: number,
  accept: (link: LinkStats) => boolean,
  what: string,
): Promise<void> {
  await expect
    .poll(
      async () => {
        const stats = await linkStats(peer.page);
        return stats.length === links && stats.every(accept) ? 'as expected' : stats;
      },
      { message: `${peer.label}: ${links} connected link(s), each ${what}` },
    )
    .toBe('as expected');
}

/** One entry of `RTCConfiguration.iceServers` as the page gave it to its newest RTCPeerConnection. */
export interface IceServerEntry {
  urls: string[];
  username: string | null;
  credential: string | null;
}

/** The ICE servers of the page's newest RTCPeerConnection ([] when it made none). */
export async function iceServers(page: Page): Promise<IceServerEntry[]> {
  return page.evaluate(() => {
    const all = window.__p2pPeerConnections ?? [];
    const newest = all[all.length - 1];
    return (newest?.getConfiguration().iceServers ?? []).map((s) => ({
      urls: Array.isArray(s.urls) ? s.urls : [s.urls],
      username: typeof s.username === 'string' ? s.username : null,
      credential: typeof s.credential === 'string' ? s.credential : null,
    }));
  });
}
