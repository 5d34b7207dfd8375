/**
 * Playwright configuration for the p2p-streams end-to-end suite.
 *
 * Two modes:
 * - default: start the already-built server binary (`cargo leptos build --split` first) on 127.0.0.1:$E2E_PORT (3100).
 * - `E2E_BASE_URL=http://host:port/`: test a server that is already running (no webServer; global-setup waits for it).
 *
 * Environment:
 *   E2E_PORT          port for the spawned server (default 3100)
 *   E2E_BASE_URL      test an already running server instead of spawning one
 *   P2P_SERVER_BIN, LEPTOS_SITE_ROOT   the server binary and its site (see server-paths.ts)
 *   P2P_TEST_REDIS_URL  Redis for multinode.spec.ts, which starts two nodes on E2E_PORT+1 and E2E_PORT+2 itself
 *   CHROMIUM_PATH     browser binary (default /usr/bin/chromium; browsers are never downloaded)
 *   E2E_SERVER_LOGS=1 show the server's stdout (RUST_LOG=info) in the test output
 */
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS } from './chromium-args.mjs';
import { E2E_SECRET, repoRoot, serverBin, siteRoot } from './server-paths';

const port = Number(process.env.E2E_PORT ?? 3100);
const externalBaseURL = process.env.E2E_BASE_URL;
const baseURL = externalBaseURL ?? `http://127.0.0.1:${port}/`;

export default defineConfig({
  testDir: './tests',
  // 2-core machine, and every test drives several browser contexts at once.
  workers: 1,
  fullyParallel: false,
  // One retry, reported as "flaky" in the output (never silently): a whole-suite run is the CI gate, and one
  // unexplained stall (a first peer that never got its role in 30 s, seen once in a clean-clone run and not
  // reproduced since) must not hide the rest. A test that fails twice fails the run.
  retries: 1,
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
          P2P_SECRET: E2E_SECRET,
          P2P_ADMIN_TOKEN: 'e2e-admin-token-test-fixture',
          // admin.spec.ts guesses wrong 3 times per run: a retry, or a rerun against a reused server, within a
          // minute would hit the default budget of 5 (tests/admin_session.rs tests the limit itself).
          P2P_ADMIN_MAX_FAILURES: '100',
          RUST_LOG: 'info',
        },
      },
});
