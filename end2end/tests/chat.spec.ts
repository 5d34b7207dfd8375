import { expect, test } from './fixtures';
import { expectSameLines } from './pages';

test.describe('chat over the star', () => {
  test('three peers see every line, in one order', async ({ peers, room }) => {
    const [alice, bob, carol] = await peers.join(room, ['alice', 'bob', 'carol']);
    const all = [alice, bob, carol];

    await alice.expectRole('host');
    await bob.expectRole('client');
    await carol.expectRole('client');

    // One at a time: the order is then fixed, and the host's own line goes through the same path.
    await alice.send('hello from the host');
    for (const p of all) await p.expectLines([alice.lineOf('hello from the host')]);
    await bob.send('hi from bob');
    for (const p of all) await p.expectLines([alice.lineOf('hello from the host'), bob.lineOf('hi from bob')]);
    await carol.sendWithEnter('carol pressed enter');
    const sequential = [
      alice.lineOf('hello from the host'),
      bob.lineOf('hi from bob'),
      carol.lineOf('carol pressed enter'),
    ];
    for (const p of all) await p.expectLines(sequential);

    // All at once: any order is fine as long as every page shows the same one (the host's). Enter, not a click:
    // lines arriving from the others shift the layout, and a click aimed at the moving button can miss it.
    await Promise.all([alice.sendWithEnter('burst a'), bob.sendWithEnter('burst b'), carol.sendWithEnter('burst c')]);
    const agreed = await expectSameLines(all, 6);
    expect(agreed.slice(0, 3)).toEqual(sequential);
    expect([...agreed.slice(3)].sort()).toEqual(
      [alice.lineOf('burst a'), bob.lineOf('burst b'), carol.lineOf('burst c')].sort(),
    );
  });

  test('Enter in the input sends the line', async ({ peers, room }) => {
    const [alice, bob] = await peers.join(room, ['alice', 'bob']);

    await bob.sendWithEnter('sent with enter');
    await alice.expectLines([bob.lineOf('sent with enter')]);
    await bob.expectLines([bob.lineOf('sent with enter')]);

    await alice.sendWithEnter('host enter');
    await bob.expectLines([bob.lineOf('sent with enter'), alice.lineOf('host enter')]);
  });

  test('user text is rendered as text, never as HTML', async ({ peers, room }) => {
    const evilName = '<img src=x onerror=alert(1)>';
    const evilLine = '<img src=x onerror=alert(2)><b>bold</b>';
    const attributeBreak = '"><script>alert(3)</script><img src=y>';
    const [host, bob] = await peers.join(room, [evilName, 'bob']);

    await host.send(evilLine);
    await bob.send(attributeBreak);
    for (const p of [host, bob]) {
      await p.expectLines([`${evilName}: ${evilLine}`, `bob: ${attributeBreak}`]);
      await expect(p.chatLog.locator('img, b, script')).toHaveCount(0);
      await expect(p.peerList.locator('img')).toHaveCount(0);
      await expect(p.peer(evilName)).toHaveAttribute('data-host', 'true');
      await p.expectPeers([
        { name: evilName, host: true },
        { name: 'bob', host: false },
      ]);
    }
    // Any alert() would have been recorded as an error by the fixture.
  });
});
