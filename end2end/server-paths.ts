/**
 * Where the built server binary and its site root are: shared by playwright.config.ts (the default server) and
 * tests/nodes.ts (the signaling nodes the multi-node spec starts and stops itself).
 *
 *   P2P_SERVER_BIN    server binary (default `${CARGO_TARGET_DIR:-../target}/debug/p2p-streams`)
 *   LEPTOS_SITE_ROOT  site root with /pkg (default: first existing of `${target}/site`, `<repo>/target/site`)
 *   P2P_HASHED_SITE_ROOT  the same site built with content hashes in its file names and its hash file inside
 *                     (default `<repo>/target/site-hashed`, built by scripts/test.sh; see tests/hashed-site.spec.ts)
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..');
/** Cargo's target dir; a relative CARGO_TARGET_DIR is taken relative to the crate root (where cargo runs). */
const targetDir = path.resolve(repoRoot, process.env.CARGO_TARGET_DIR ?? 'target');
export const serverBin = process.env.P2P_SERVER_BIN ?? path.join(targetDir, 'debug', 'p2p-streams');
/**
 * Cargo.toml has `site-root = "target/site"` (literal, relative to the crate root), so cargo-leptos writes the site
 * there even when CARGO_TARGET_DIR points elsewhere; `${target}/site` is tried first in case that ever changes.
 */
export const siteRoot =
  process.env.LEPTOS_SITE_ROOT ??
  [path.join(targetDir, 'site'), path.join(repoRoot, 'target', 'site')].find((p) => existsSync(p)) ??
  path.join(targetDir, 'site');

/** A site built with `LEPTOS_HASH_FILES=true`, its `hash.txt` inside (`LEPTOS_HASH_FILE_NAME`, absolute). */
export const hashedSiteRoot = process.env.P2P_HASHED_SITE_ROOT ?? path.join(repoRoot, 'target', 'site-hashed');

/** The HMAC secret every server of the suite shares (tokens and cookies must validate on each node). */
export const E2E_SECRET = 'e2e-test-fixture-secret-not-for-production';
