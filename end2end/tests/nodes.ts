/**
 * Servers that a test starts and stops itself: the server binary (see server-paths.ts) on its own port, with the
 * suite's secret. Signaling nodes (`Node.clustered`) share one Redis (`P2P_TEST_REDIS_URL`, exported by
 * scripts/test.sh) with the other nodes, so a join cookie and token issued by one node validate on every other.
 */
import { expect } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { E2E_SECRET, repoRoot, serverBin, siteRoot } from '../server-paths';

/** How long a node may take to answer HTTP after it was spawned. */
const START_TIMEOUT_MS = 30_000;
/** How long a stopping node may take to drain (close its sockets) and exit. */
const STOP_TIMEOUT_MS = 10_000;

/** The Redis every node of a test shares; a missing one fails the test with the way to provide it. */
export function testRedisUrl(): string {
  const url = process.env.P2P_TEST_REDIS_URL;
  if (!url) {
    throw new Error(
      'P2P_TEST_REDIS_URL is not set: run scripts/test.sh (it starts redis-server), or start one and export ' +
        'P2P_TEST_REDIS_URL=redis://127.0.0.1:PORT',
    );
  }
  return url;
}

/** One running node. */
export class Node {
  private exited: Promise<number | null>;
  private readonly log: string[] = [];

  private constructor(
    readonly label: string,
    readonly baseURL: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stderr?.on('data', (chunk: Buffer) => this.log.push(chunk.toString()));
  }

  /** Spawns a signaling node on 127.0.0.1:`port` using `redisUrl` under key prefix `prefix`; waits until it answers. */
  static clustered(label: string, port: number, redisUrl: string, prefix: string): Promise<Node> {
    return Node.start(label, port, { P2P_REDIS_URL: redisUrl, P2P_REDIS_PREFIX: prefix, P2P_NODE_TTL_MS: '1500' });
  }

  /** Spawns a server on 127.0.0.1:`port` with `env` on top of the suite's settings, and waits until it answers. */
  static async start(label: string, port: number, env: Record<string, string>): Promise<Node> {
    const child = spawn(serverBin, [], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        LEPTOS_SITE_ROOT: siteRoot,
        P2P_SECRET: E2E_SECRET,
        RUST_LOG: 'warn',
        ...env,
      },
    });
    const node = new Node(label, `http://127.0.0.1:${port}/`, child);
    await node.waitReady();
    return node;
  }

  private async waitReady(): Promise<void> {
    // Polled (every 100 ms, up to the start timeout); an exited node is reported, not waited for.
    await expect
      .poll(
        async () => {
          if (this.child.exitCode !== null) return `exited with ${this.child.exitCode}: ${this.log.join('')}`;
          const res = await fetch(new URL('healthz', this.baseURL), { signal: AbortSignal.timeout(2_000) }).catch(
            () => null,
          );
          return res?.ok ? 'ready' : 'not answering';
        },
        { message: `node ${this.label} at ${this.baseURL}`, timeout: START_TIMEOUT_MS, intervals: [100] },
      )
      .toBe('ready');
  }

  /** Stops the node with `signal` (SIGTERM: graceful drain) and returns its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`node ${this.label} did not exit within ${STOP_TIMEOUT_MS} ms`)), STOP_TIMEOUT_MS),
    );
    return Promise.race([this.exited, timeout]);
  }
}
