/**
 * Two signaling nodes on one Redis (started and stopped by the test, see nodes.ts): the host's page comes from
 * node A and the clients' pages from node B, so their signaling sockets live on different nodes and only the
 * Redis bus brings them together. Then node A stops, together with its host: the clients elect a new host
 * through node B and chat again, without a reload.
 */
import { expect, test } from './fixtures';
import { Node, testRedisUrl } from './nodes';
import { expectRoles, expectSameLines, LINK_LOSS_TIMEOUT_MS } from './pages';

const port = Number(process.env.E2E_PORT ?? 3100);

test('a host on node A and clients on node B chat; when node A and its host go, node B elects a new host', async ({
  peers,
  room,
}) => {
  const redisUrl = testRedisUrl();
  const prefix = `e2e-${room}`;
  const nodeA = await Node.clustered('A', port + 1, redisUrl, prefix);
  const nodeB = await Node.clustered('B', port + 2, redisUrl, prefix).catch(async (err) => {
    await nodeA.stop();
    throw err;
  });
  try {
    const alice = await peers.open('alice@A', nodeA.baseURL);
    await alice.join('alice', room);
    await alice.expectRole('host');
    const clients = [];
    for (const name of ['bob', 'carol']) {
      const client = await peers.open(`${name}@B`, nodeB.baseURL);
      await client.join(name, room);
      await client.expectRole('client');
      await client.waitConnected();
      clients.push(client);
    }
    const [bob, carol] = clients;
    const everyone = [alice, bob, carol];
    await alice.expectPeers([
      { name: 'alice', host: true },
      { name: 'bob', host: false },
      { name: 'carol', host: false },
    ]);

    await bob.send('hello from node B');
    for (const p of everyone) await p.expectLines([bob.lineOf('hello from node B')]);
    await alice.send('hello from node A');
    const first = [bob.lineOf('hello from node B'), alice.lineOf('hello from node A')];
    for (const p of everyone) await p.expectLines(first);
    for (const p of clients) await p.markNoReload();

    // Node A goes away with its host: alice's browser closes and node A drains (close code 4003) and exits.
    await alice.close();
    expect(await nodeA.stop('SIGTERM'), 'node A drains and exits cleanly').toBe(0);

    await expectRoles(clients, ['client', 'host'], LINK_LOSS_TIMEOUT_MS);
    for (const p of clients) await p.waitConnected(LINK_LOSS_TIMEOUT_MS);
    const newHost = (await bob.role()) === 'host' ? bob : carol;
    for (const p of clients) {
      await p.expectPeers(clients.map((c) => ({ name: c.name, host: c === newHost })), LINK_LOSS_TIMEOUT_MS);
    }

    const after = (line: string) => line.includes('after node A');
    await carol.send('carol after node A');
    for (const p of clients) await p.expectLinesWhere(after, [carol.lineOf('carol after node A')]);
    await bob.send('bob after node A');
    const expected = [carol.lineOf('carol after node A'), bob.lineOf('bob after node A')];
    for (const p of clients) await p.expectLinesWhere(after, expected);
    await expectSameLines(clients, expected.length);
    for (const p of clients) await p.expectNoReload();
    // Leave before node B stops, or the host's page would retry a node that is gone (a console error).
    for (const p of clients) await p.close();
  } finally {
    await nodeA.stop();
    await nodeB.stop();
  }
});
