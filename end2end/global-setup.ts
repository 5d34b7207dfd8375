/**
 * Used only with E2E_BASE_URL (no webServer): `cargo leptos end-to-end` starts Playwright without waiting for the
 * server's port, so poll the base URL until it answers (any HTTP status below 500) or 120 s pass.
 */
import { expect, type FullConfig } from '@playwright/test';

const DEADLINE_MS = 120_000;

export default async function globalSetup(config: FullConfig): Promise<void> {
  const baseURL = config.projects[0]?.use.baseURL ?? process.env.E2E_BASE_URL;
  if (!baseURL) return;
  let lastError = 'no attempt';
  const answered = async (): Promise<boolean> => {
    try {
      const res = await fetch(baseURL, { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
      lastError = `HTTP ${res.status}`;
      return res.status < 500;
    } catch (e) {
      lastError = String(e);
      return false;
    }
  };
  try {
    await expect.poll(answered, { timeout: DEADLINE_MS }).toBe(true);
  } catch {
    throw new Error(`server at ${baseURL} did not answer within ${DEADLINE_MS} ms (last: ${lastError})`);
  }
}
