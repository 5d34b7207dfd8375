/**
 * Used only with E2E_BASE_URL (no webServer): `cargo leptos end-to-end` starts Playwright without waiting for the
 * server's port, so poll the base URL until it answers (any HTTP status below 500) or 120 s pass.
 */
import type { FullConfig } from '@playwright/test';

const DEADLINE_MS = 120_000;
const POLL_MS = 250;

export default async function globalSetup(config: FullConfig): Promise<void> {
  const baseURL = config.projects[0]?.use.baseURL ?? process.env.E2E_BASE_URL;
  if (!baseURL) return;
  const deadline = Date.now() + DEADLINE_MS;
  let lastError = 'no attempt';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(baseURL, { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
      if (res.status < 500) return;
      lastError = `HTTP ${res.status}`;
    } catch (e) {
      lastError = String(e);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`server at ${baseURL} did not answer within ${DEADLINE_MS} ms (last: ${lastError})`);
}
