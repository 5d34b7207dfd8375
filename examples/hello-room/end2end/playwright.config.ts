/**
 * Playwright configuration for the hello-room example (fully hydrated app). Uses the repository's Playwright
 * install (end2end/node_modules, reached through a `node_modules` symlink next to this file that
 * scripts/test.sh creates) and the suite's Chromium flags.
 *
 * Starts the built example server (`cargo leptos build` in examples/hello-room first) on 127.0.0.1:$HELLO_ROOM_PORT
 * (3150; the main suite uses 3100-3102).
 *
 * Environment:
 *   HELLO_ROOM_BIN    the server binary (default $CARGO_TARGET_DIR/debug/hello-room, with
 *                     CARGO_TARGET_DIR defaulting to ~/.cache/p2p-streams/target as in scripts/env.sh)
 *   HELLO_ROOM_PORT   port (default 3150)
 *   CHROMIUM_PATH     browser binary (default /usr/bin/chromium)
 */
import { defineConfig } from '@playwright/test';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CHROMIUM_ARGS } from '../../../end2end/chromium-args.mjs';

const exampleRoot = resolve(__dirname, '..');
const port = Number(process.env.HELLO_ROOM_PORT ?? 3150);
const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/p2p-streams/target');
const serverBin = process.env.HELLO_ROOM_BIN ?? join(targetDir, 'debug/hello-room');

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: 'list',
  timeout: 60_000,
  expect: { timeout: 20_000 },
  use: {
    baseURL: `http://127.0.0.1:${port}/`,
    headless: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: {
    command: JSON.stringify(serverBin),
    cwd: exampleRoot,
    url: `http://127.0.0.1:${port}/`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: join(exampleRoot, 'target/site'),
      LEPTOS_OUTPUT_NAME: 'hello-room',
      RUST_LOG: 'warn',
    },
  },
});
