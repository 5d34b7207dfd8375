/**
 * The NAT lab of nat.spec.ts (scripts/nat-lab.sh builds it: network namespaces `pub` with the server's address
 * 203.0.113.10, two NAT routers, two homes that can reach the server and nothing else), a server running inside
 * `pub`, and one Chromium per home.
 *
 * scripts/test.sh brings a lab up before Playwright, exports its `P2P_NAT_*` lines and deletes it on exit; run
 * alone (as root), the spec brings up its own lab and deletes it after its tests.
 */
import { chromium, expect, type Browser } from '@playwright/test';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { CHROMIUM_ARGS } from '../chromium-args.mjs';
import { E2E_SECRET, repoRoot, serverBin, siteRoot } from '../server-paths';
import { Peers } from './fixtures';

const run = promisify(execFile);
const LAB_SCRIPT = path.join(repoRoot, 'scripts', 'nat-lab.sh');
/** How long a server in the lab may take to answer HTTP. */
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/** One lab, as `scripts/nat-lab.sh env` describes it. */
export interface NatLab {
  id: string;
  /** Namespace of the public segment (the server) and of each home. */
  nsPub: string;
  nsHomeA: string;
  nsHomeB: string;
  /** The server's address in `pub` (203.0.113.10). */
  serverIp: string;
  /** The public segment (203.0.113.0/24): the routers' WAN addresses and the server. */
  publicNet: string;
  /** Executables that run Chromium inside home A / home B (for `executablePath`). */
  chromiumA: string;
  chromiumB: string;
  /** True when this process brought the lab up (and so deletes it). */
  owned: boolean;
}

function labFrom(vars: Record<string, string | undefined>, owned: boolean): NatLab {
  const need = (key: string) => {
    const value = vars[key];
    if (!value) throw new Error(`nat-lab: ${key} missing`);
    return value;
  };
  return {
    id: need('P2P_NAT_LAB'),
    nsPub: need('P2P_NAT_NS_PUB'),
    nsHomeA: need('P2P_NAT_NS_HA'),
    nsHomeB: need('P2P_NAT_NS_HB'),
    serverIp: need('P2P_NAT_SERVER_IP'),
    publicNet: need('P2P_NAT_PUBLIC_NET'),
    chromiumA: need('P2P_NAT_CHROMIUM_HA'),
    chromiumB: need('P2P_NAT_CHROMIUM_HB'),
    owned,
  };
}

/**
 * The lab scripts/test.sh exported, or a new one when this process is root; a string (the reason to skip) when
 * neither is possible.
 */
export async function openLab(): Promise<NatLab | string> {
  if (process.env.P2P_NAT_LAB) return labFrom(process.env, false);
  if (process.getuid?.() !== 0) {
    return 'the NAT lab needs root (network namespaces): run scripts/test.sh as root, or `scripts/nat-lab.sh up` as root and export its lines';
  }
  const { stdout } = await run(LAB_SCRIPT, ['up']);
  const vars = Object.fromEntries(
    stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return labFrom(vars, true);
}

/** Deletes the lab if this process made it. */
export async function closeLab(lab: NatLab): Promise<void> {
  if (lab.owned) await run(LAB_SCRIPT, ['down', lab.id]);
}

/** The server binary running inside the lab's `pub` namespace on `serverIp:port`. */
export class LabServer {
  private readonly exited: Promise<number | null>;
  private readonly log: string[] = [];

  private constructor(
    readonly label: string,
    readonly baseURL: string,
    private readonly lab: NatLab,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stderr?.on('data', (chunk: Buffer) => this.log.push(chunk.toString()));
  }

  /** Starts the server (the suite's secret and site, `env` on top) and waits until it answers in `pub`. */
  static async start(lab: NatLab, label: string, port: number, env: Record<string, string>): Promise<LabServer> {
    // `ip netns exec` execs the server: the child's pid is the server's, so signals reach it.
    const child = spawn('ip', ['netns', 'exec', lab.nsPub, serverBin], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        LEPTOS_SITE_ADDR: `${lab.serverIp}:${port}`,
        LEPTOS_SITE_ROOT: siteRoot,
        P2P_SECRET: E2E_SECRET,
        RUST_LOG: 'warn',
        ...env,
      },
    });
    const server = new LabServer(label, `http://${lab.serverIp}:${port}/`, lab, child);
    await server.waitReady();
    return server;
  }

  /** Server output so far (for failure messages). */
  output(): string {
    return this.log.join('');
  }

  private async waitReady(): Promise<void> {
    // The server's address exists only in `pub`: ask from there, with this same Node.
    const probe =
      'fetch(new URL("healthz", process.argv[1]), { signal: AbortSignal.timeout(2000) })' +
      '.then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))';
    // Polled (every 200 ms, up to the start timeout); an exited server is reported, not waited for.
    await expect
      .poll(
        async () => {
          if (this.child.exitCode !== null) return `exited with ${this.child.exitCode}: ${this.output()}`;
          const ok = await run('ip', ['netns', 'exec', this.lab.nsPub, process.execPath, '-e', probe, this.baseURL]).then(
            () => true,
            () => false,
          );
          return ok ? 'ready' : 'not answering';
        },
        { message: `server ${this.label} at ${this.baseURL}`, timeout: START_TIMEOUT_MS, intervals: [200] },
      )
      .toBe('ready');
  }

  /** SIGTERM (graceful drain), then the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`server ${this.label} did not exit within ${STOP_TIMEOUT_MS} ms`)), STOP_TIMEOUT_MS),
    );
    return Promise.race([this.exited, timeout]);
  }
}

/** One Chromium per home, each with its own `Peers` (and so its own console-error collection). */
export class Homes {
  private constructor(
    private readonly browsers: Browser[],
    /** Peers opened in home A / home B (each peer its own browser context). */
    readonly a: Peers,
    readonly b: Peers,
  ) {}

  static async launch(lab: NatLab, baseURL: string): Promise<Homes> {
    const launch = (executablePath: string) => chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    const [browserA, browserB] = await Promise.all([launch(lab.chromiumA), launch(lab.chromiumB)]);
    return new Homes([browserA, browserB], new Peers(browserA, baseURL), new Peers(browserB, baseURL));
  }

  /** Closes every peer and both browsers; returns the errors collected in either home. */
  async close(): Promise<string[]> {
    const errors = [...this.a.errors.map((e) => `[home A] ${e}`), ...this.b.errors.map((e) => `[home B] ${e}`)];
    await Promise.all([this.a.dispose(), this.b.dispose()]);
    await Promise.all(this.browsers.map((b) => b.close().catch(() => undefined)));
    return errors;
  }
}
