/**
 * A site built for production with content hashes in its file names (`LEPTOS_HASH_FILES=true`), served by a
 * server this test starts with the same setting: the page links the hashed files, each one goes out as immutable,
 * two peers connect and chat, and a peer that opens the room again takes the JS from its cache without a request to
 * the server. (Its wasm is not checked: a debug build's 7 MB wasm is more than a fresh browser context's
 * in-memory cache keeps.) scripts/test.sh copies the release site and its hash file into target/site-hashed first.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { hashedSiteRoot } from '../server-paths';
import { expect, test } from './fixtures';
import { Node } from './nodes';
import { MAIN_WASM } from './pages';

const port = Number(process.env.E2E_PORT ?? 3100);
const hashFile = path.join(hashedSiteRoot, 'hash.txt');
/** A name with a content hash: `<stem>.<22 base64url characters>.<ext>`. */
const HASHED = /\.[\w-]{22}\.\w+$/;

test('a hashed site: immutable files, peers connect, a second visit takes the JS from the cache', async ({
  peers,
  room,
}) => {
  if (!existsSync(hashFile)) {
    throw new Error(
      `no hashed site at ${hashedSiteRoot}: run scripts/test.sh, or build it with LEPTOS_HASH_FILES=true ` +
        `LEPTOS_HASH_FILE_NAME=${hashFile} LEPTOS_SITE_ROOT=${hashedSiteRoot} cargo leptos build --split`,
    );
  }
  const node = await Node.start('hashed', port + 3, {
    LEPTOS_SITE_ROOT: hashedSiteRoot,
    LEPTOS_HASH_FILES: 'true',
    LEPTOS_HASH_FILE_NAME: hashFile,
  });
  try {
    const alice = await peers.open('alice', node.baseURL);
    // Every /pkg response alice's pages get: its path and Cache-Control.
    const served = new Map<string, string | undefined>();
    alice.context.on('response', (response) => {
      const { pathname } = new URL(response.url());
      if (pathname.startsWith('/pkg/')) served.set(pathname, response.headers()['cache-control']);
    });
    await alice.join('alice', room);
    await alice.expectRole('host');
    const bob = await peers.open('bob', node.baseURL);
    await bob.join('bob', room);
    await bob.expectRole('client');
    await bob.waitConnected();
    await alice.send('over hashed files');
    await bob.expectLinesWhere((line) => line.includes('over hashed files'), [alice.lineOf('over hashed files')]);

    const paths = [...served.keys()];
    expect(paths.some((p) => MAIN_WASM.test(p) && HASHED.test(p)), `hashed main wasm among ${paths}`).toBe(true);
    for (const [file, cacheControl] of served) {
      expect(file, 'every /pkg file has a hashed name').toMatch(HASHED);
      expect(cacheControl, file).toBe('public, max-age=31536000, immutable');
    }

    // bob comes back to the room (a new document in the same browser): the JS comes from the cache.
    await bob.page.goto(bob.roomPath);
    await bob.expectRole('client');
    await bob.waitConnected();
    const fetched = await bob.page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .map((e) => e as PerformanceResourceTiming)
        .filter((e) => new URL(e.name).pathname.endsWith('.js'))
        .map((e) => ({ path: new URL(e.name).pathname, transferSize: e.transferSize })),
    );
    expect(fetched.length, 'the main JS and the split loader').toBeGreaterThanOrEqual(2);
    for (const entry of fetched) expect(entry, 'taken from the cache, no request').toMatchObject({ transferSize: 0 });
  } finally {
    await peers.dispose();
    await node.stop();
  }
});
