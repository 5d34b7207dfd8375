/**
 * Code that runs inside the pages (init scripts and evaluate callbacks), and the globals it defines.
 *
 * Functions here are serialized with `Function.prototype.toString()` and run in the browser: they must be
 * self-contained (no imports, no closure over Node values).
 */

/** One WebSocket the page created, as recorded by {@link installSocketRecorder}. */
export interface RecordedSocket {
  /** `WebSocket.url` (absolute). */
  url: string;
  /** Live `WebSocket.readyState`: 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** `performance.now()` at construction / open / close. */
  createdAt: number;
  openedAt: number | null;
  closedAt: number | null;
  /** `CloseEvent.code`, once closed. */
  closeCode: number | null;
  /** The WebSocket itself (non-enumerable). */
  readonly socket?: WebSocket;
}

/** A serializable snapshot of a {@link RecordedSocket}. */
export interface SocketSnapshot {
  url: string;
  path: string;
  readyState: number;
  opened: boolean;
  closeCode: number | null;
}

declare global {
  interface Window {
    /** Every WebSocket this document created, in creation order (see installSocketRecorder). */
    __p2pSockets?: RecordedSocket[];
    /** Set by a test before an action that must not reload the page; a reload drops it. */
    __noReload?: boolean;
    /** p2p-status texts seen since RoomPage.trackStatus() was called. */
    __p2pStatusHistory?: string[];
  }
}

/**
 * Init script: wraps `window.WebSocket` so that every socket's url and readyState can be read by tests via
 * `window.__p2pSockets`. The wrapper is a subclass, so `instanceof WebSocket`, the static constants and all
 * handlers the app sets keep working. Runs before any page script, on every navigation.
 */
export function installSocketRecorder(): void {
  if (window.__p2pSockets) return;
  const sockets: RecordedSocket[] = [];
  Object.defineProperty(window, '__p2pSockets', { value: sockets, enumerable: false, configurable: false });
  const Native = window.WebSocket;
  class RecordingWebSocket extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      if (protocols === undefined) super(url);
      else super(url, protocols);
      const socket = this;
      const record = {
        url: String(socket.url),
        createdAt: performance.now(),
        openedAt: null as number | null,
        closedAt: null as number | null,
        closeCode: null as number | null,
      } as RecordedSocket;
      Object.defineProperty(record, 'readyState', { enumerable: true, get: () => socket.readyState });
      // The socket itself, for tests that break it on purpose (not enumerable: snapshots stay serializable).
      Object.defineProperty(record, 'socket', { enumerable: false, value: socket });
      socket.addEventListener('open', () => {
        record.openedAt = performance.now();
      });
      socket.addEventListener('close', (event) => {
        record.closedAt = performance.now();
        record.closeCode = event.code;
      });
      sockets.push(record);
    }
  }
  Object.defineProperty(window, 'WebSocket', { value: RecordingWebSocket, writable: true, configurable: true });
}

declare global {
  interface Window {
    /** Every RTCDataChannel this document sent on, in first-use order (see installChannelRecorder). */
    __p2pChannels?: RTCDataChannel[];
    /** When true, outgoing `Send` frames are silently dropped (a link that loses messages in flight). */
    __p2pDropSends?: boolean;
  }
}

/**
 * Init script: wraps `RTCDataChannel.prototype.send` so tests can reach the page's data channels
 * (`window.__p2pChannels`) and make the link lose outgoing app messages (`window.__p2pDropSends`).
 */
export function installChannelRecorder(): void {
  if (window.__p2pChannels) return;
  const channels: RTCDataChannel[] = [];
  Object.defineProperty(window, '__p2pChannels', { value: channels, enumerable: false, configurable: false });
  const nativeSend = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function send(this: RTCDataChannel, data: never) {
    if (!channels.includes(this)) channels.push(this);
    if (window.__p2pDropSends && typeof data === 'string' && (data as string).startsWith('{"type":"Send"')) return;
    return nativeSend.call(this, data);
  };
}

/** The malicious client of `history-forgery.spec.ts` (see installHistoryForger). */
export interface HistoryForger {
  /** While true, the page's signaling `join` frames are held back (so another survivor is elected first). */
  holdJoins: boolean;
  /** Sends the held `join` frames on the sockets still open, and stops holding. */
  release: () => void;
  /** The user whose messages the forged entries claim to be (empty: no forging). */
  target: string;
  /** Forged entries sent so far. */
  forged: number;
}

/**
 * Init script of a malicious client, installed only by the test that needs one (nothing in the app or the
 * library forges): every `History` frame this page sends after a migration gets two forged entries of the
 * former epoch attributed to `target`: one a real entry of the target's with its text changed and its real
 * seal kept, one with a made-up seal. It also holds back `join` frames on demand, so a test decides which
 * survivor becomes host.
 */
export function installHistoryForger(): void {
  const w = window as unknown as { __p2pForger?: HistoryForger };
  if (w.__p2pForger) return;
  const held: [WebSocket, string][] = [];
  const wsSend = WebSocket.prototype.send;
  const forger: HistoryForger = {
    holdJoins: false,
    target: '',
    forged: 0,
    release: () => {
      forger.holdJoins = false;
      for (const [socket, data] of held.splice(0)) if (socket.readyState === WebSocket.OPEN) wsSend.call(socket, data);
    },
  };
  Object.defineProperty(window, '__p2pForger', { value: forger, enumerable: false });
  WebSocket.prototype.send = function send(this: WebSocket, data: never) {
    if (forger.holdJoins && typeof data === 'string' && (data as string).startsWith('{"type":"join"')) {
      held.push([this, data]);
      return;
    }
    return wsSend.call(this, data);
  };
  const channelSend = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function send(this: RTCDataChannel, data: never) {
    if (forger.target && typeof data === 'string' && (data as string).startsWith('{"type":"History"')) {
      type Entry = { from: string; seq: number; index: number; payload: { text?: string }; sig?: string };
      const frame = JSON.parse(data) as { entries: Entry[] };
      const real = frame.entries.find((e) => e.from.startsWith(`${forger.target}#`) && typeof e.payload?.text === 'string');
      if (real) {
        const text = `forged ${forger.target} line`;
        const madeUpSeal = btoa(String.fromCharCode(...new Array<number>(64).fill(7)));
        frame.entries.push({ ...real, seq: real.seq + 1000, index: real.index + 1000, payload: { ...real.payload, text } });
        frame.entries.push({
          ...real,
          seq: real.seq + 2000,
          index: real.index + 2000,
          payload: { ...real.payload, text: `${text} 2` },
          sig: madeUpSeal,
        });
        forger.forged += 2;
        return channelSend.call(this, JSON.stringify(frame) as never);
      }
    }
    return channelSend.call(this, data);
  };
}
