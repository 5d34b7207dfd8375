/**
 * Playwright configuration for the p2p-streams end-to-end suite.
 *
 * Two modes:
 * - default: start the already-built server binary (`cargo leptos build` first) on 127.0.0.1:$E2E_PORT (3100).
 * - `E2E_BASE_URL=http://host:port/`: test a server that is already running (no webServer; global-setup waits for it).
 *
 * Environment:
 *   E2E_PORT          port for the spawned server (default 3100)
 *   E2E_BASE_URL      test an already running server instead of spawning one
 *   P2P_SERVER_BIN    server binary (default `${CARGO_TARGET_DIR:-../target}/debug/p2p-streams`)
 *   LEPTOS_SITE_ROOT  site root with /pkg (default: first existing of `${target}/site`, `<repo>/target/site`)
 *   CHROMIUM_PATH     browser binary (default /usr/bin/chromium; browsers are never downloaded)
 *   E2E_SERVER_LOGS=1 show the server's stdout (RUST_LOG=info) in the test output
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from '@playwright/test';

const repoRoot = path.resolve(__dirname, '..');
/** Cargo's target dir; a relative CARGO_TARGET_DIR is taken relative to the crate root (where cargo runs). */
const targetDir = path.resolve(repoRoot, process.env.CARGO_TARGET_DIR ?? 'target');
const serverBin = process.env.P2P_SERVER_BIN ?? path.join(targetDir, 'debug', 'p2p-streams');
/**
 * Cargo.toml has `site-root = "target/site"` (literal, relative to the crate root), so cargo-leptos writes the site
 * there even when CARGO_TARGET_DIR points elsewhere; `${target}/site` is tried first in case that ever changes.
 */
const siteRoot =
  process.env.LEPTOS_SITE_ROOT ??
  [path.join(targetDir, 'site'), path.join(repoRoot, 'target', 'site')].find((p) => existsSync(p)) ??
  path.join(targetDir, 'site');

const port = Number(process.env.E2E_PORT ?? 3100);
const externalBaseURL = process.env.E2E_BASE_URL;
const baseURL = externalBaseURL ?? `http://127.0.0.1:${port}/`;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Local WebRTC must use plain host candidates (no mDNS .local names).
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export default defineConfig({
  testDir: './tests',
  // 2-core machine, and every test drives several browser contexts at once.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  timeout: 90_000,
  expect: { timeout: 20_000 },
  globalSetup: externalBaseURL ? './global-setup.ts' : undefined,
  use: {
    baseURL,
    trace: 'off',
    screenshot: 'off',
    video: 'off',
    headless: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: externalBaseURL
    ? undefined
    : {
        command: JSON.stringify(serverBin),
        cwd: repoRoot,
        url: `http://127.0.0.1:${port}/`,
        reuseExistingServer: true,
        timeout: 120_000,
        stdout: process.env.E2E_SERVER_LOGS ? 'pipe' : 'ignore',
        stderr: 'pipe',
        env: {
          LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
          LEPTOS_SITE_ROOT: siteRoot,
          P2P_SECRET: 'e2e-test-fixture-secret-not-for-production',
          P2P_ADMIN_TOKEN: 'e2e-admin-token-test-fixture',
          RUST_LOG: 'info',
        },
      },
});
