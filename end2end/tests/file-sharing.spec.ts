/**
 * File sharing in the chat room (`file-input`, `file-transfer` rows, `file-cancel`, `file-download`): files go
 * from a client through the host to every peer, in chunks the host relays without keeping, and each receiver
 * offers the file only when its SHA-256 matches the sender's.
 * - a 50 MB file from a client reaches the host and two other clients intact (SHA-256 of each download link's
 *   bytes equal to the file's), while chat lines sent during the transfer arrive promptly;
 * - the sender cancels (every row ends cancelled), a receiver cancels (only its row; the others complete);
 * - the host leaves mid-transfer: every survivor's row ends failed or, if it completed, intact; never corrupt.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { expect, test } from './fixtures';
import { type RoomPage } from './pages';

const MB = 1024 * 1024;

/** A file of `size` random bytes in the test's output directory, and its SHA-256 (hex). */
function makeFile(path: string, size: number): string {
  const bytes = randomBytes(size);
  writeFileSync(path, bytes);
  return createHash('sha256').update(bytes).digest('hex');
}

function row(peer: RoomPage, name: string) {
  return peer.page.locator(`[data-testid="file-transfer"][data-file-name="${name}"]`);
}

/** SHA-256 (hex) of what the peer's download link serves. */
async function downloadedSha(peer: RoomPage, name: string): Promise<string> {
  const href = await row(peer, name).getByTestId('file-download').getAttribute('href');
  expect(href, `${peer.label}'s download link`).toMatch(/^blob:/);
  return peer.page.evaluate(async (url) => {
    const digest = await crypto.subtle.digest('SHA-256', await (await fetch(url)).arrayBuffer());
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  }, href as string);
}

test('a 50 MB file from a client reaches every peer intact while chat flows', async ({ peers, room }, testInfo) => {
  test.setTimeout(240_000);
  const [alice, bob, carol, dave] = await peers.join(room, ['alice', 'bob', 'carol', 'dave']);
  const path = testInfo.outputPath('big.bin');
  const sha = makeFile(path, 50 * MB);
  await bob.page.getByTestId('file-input').setInputFiles(path);

  for (const peer of [alice, bob, carol, dave]) {
    await expect(row(peer, 'big.bin'), `${peer.label}'s row`).toHaveAttribute('data-file-size', String(50 * MB));
  }
  await expect(row(bob, 'big.bin')).toHaveAttribute('data-state', 'sending');
  // Chat while the file moves: each line reaches the other clients, timed from the send.
  const latencies: number[] = [];
  for (const i of [1, 2, 3]) {
    const started = Date.now();
    await alice.send(`line ${i} during the transfer`);
    await carol.expectLinesWhere((l) => l.includes('during the transfer'), [1, 2, 3].slice(0, i).map((n) => alice.lineOf(`line ${n} during the transfer`)));
    latencies.push(Date.now() - started);
  }
  const stillMoving = await row(dave, 'big.bin').getAttribute('data-state');
  console.log(`chat line latency during the 50 MB transfer (ms): ${latencies.join(', ')}; receiver state then: ${stillMoving}`);
  for (const ms of latencies) expect(ms, 'a chat line waited behind file data').toBeLessThan(5_000);

  for (const peer of [alice, bob, carol, dave]) {
    await expect(row(peer, 'big.bin'), `${peer.label}'s row`).toHaveAttribute('data-state', 'done', { timeout: 180_000 });
    await expect(row(peer, 'big.bin')).toHaveAttribute('data-progress', '100');
    await expect(row(peer, 'big.bin').getByTestId('file-download')).toHaveAttribute('download', 'big.bin');
    await expect(row(peer, 'big.bin').getByTestId('file-cancel')).toHaveCount(0);
    expect(await downloadedSha(peer, 'big.bin'), `${peer.label}'s copy`).toBe(sha);
  }
});

test('the sender cancels for everyone; a receiver cancels for itself', async ({ peers, room }, testInfo) => {
  test.setTimeout(180_000);
  const [alice, bob, carol] = await peers.join(room, ['alice', 'bob', 'carol']);
  const first = testInfo.outputPath('first.bin');
  makeFile(first, 40 * MB);
  await bob.page.getByTestId('file-input').setInputFiles(first);
  await expect(row(carol, 'first.bin')).toHaveAttribute('data-state', 'receiving');
  await row(bob, 'first.bin').getByTestId('file-cancel').click();
  for (const peer of [alice, bob, carol]) {
    await expect(row(peer, 'first.bin'), `${peer.label}'s row`).toHaveAttribute('data-state', 'cancelled');
    await expect(row(peer, 'first.bin').getByTestId('file-download')).toHaveCount(0);
  }

  const second = testInfo.outputPath('second.bin');
  const sha = makeFile(second, 20 * MB);
  await bob.page.getByTestId('file-input').setInputFiles(second);
  await expect(row(carol, 'second.bin')).toHaveAttribute('data-state', 'receiving');
  await row(carol, 'second.bin').getByTestId('file-cancel').click();
  await expect(row(carol, 'second.bin')).toHaveAttribute('data-state', 'cancelled');
  for (const peer of [alice, bob]) {
    await expect(row(peer, 'second.bin'), `${peer.label}'s row`).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  }
  expect(await downloadedSha(alice, 'second.bin')).toBe(sha);
  await expect(row(carol, 'second.bin')).toHaveAttribute('data-state', 'cancelled');
});

test('a transfer cut by a host migration fails or completes intact, never corrupt', async ({ peers, room }, testInfo) => {
  test.setTimeout(180_000);
  const [alice, bob, carol] = await peers.join(room, ['alice', 'bob', 'carol']);
  const path = testInfo.outputPath('cut.bin');
  const sha = makeFile(path, 40 * MB);
  await bob.page.getByTestId('file-input').setInputFiles(path);
  await expect(row(carol, 'cut.bin')).toHaveAttribute('data-state', 'receiving');
  await alice.close();
  for (const peer of [bob, carol]) {
    const end = row(peer, 'cut.bin');
    await expect(end, `${peer.label}'s row`).toHaveAttribute('data-state', /^(failed|done)$/, { timeout: 60_000 });
    if ((await end.getAttribute('data-state')) === 'done') {
      expect(await downloadedSha(peer, 'cut.bin'), `${peer.label}'s copy`).toBe(sha);
    } else {
      await expect(end.getByTestId('file-download')).toHaveCount(0);
    }
  }
  // The room goes on under the new host.
  await bob.waitConnected();
  await carol.send('after the migration');
  await bob.expectLinesWhere((l) => l.includes('after the migration'), [carol.lineOf('after the migration')]);
});
