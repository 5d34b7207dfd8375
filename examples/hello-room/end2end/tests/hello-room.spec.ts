import { expect, test, type BrowserContext, type Page } from '@playwright/test';

// Opens the room as `name` in its own browser context and fails the test on any console error or page error.
async function join(context: BrowserContext, name: string, errors: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`${name}: console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`${name}: page error: ${err.message}`));
  await page.goto(`/?name=${name}`);
  await expect(page.getByTestId('state')).toHaveText('connected');
  return page;
}

test('two browser contexts exchange a message in a fully hydrated app', async ({ browser }) => {
  const errors: string[] = [];
  const alice = await browser.newContext();
  const bob = await browser.newContext();
  try {
    const a = await join(alice, 'alice', errors);
    const b = await join(bob, 'bob', errors);
    // Fully hydrated: the whole body is Leptos's, no island elements.
    await expect(a.locator('leptos-island')).toHaveCount(0);

    await a.getByTestId('draft').fill('hello from alice');
    await a.getByTestId('send').click();
    await expect(b.getByTestId('message')).toHaveText(['alice: hello from alice']);
    await expect(a.getByTestId('message')).toHaveText(['alice: hello from alice']);
    await expect(a.getByTestId('draft')).toHaveValue('');

    await b.getByTestId('draft').fill('hi alice');
    await b.getByTestId('send').click();
    await expect(a.getByTestId('message')).toHaveText(['alice: hello from alice', 'bob: hi alice']);
    await expect(a.getByTestId('send-error')).toHaveText('');
    expect(errors).toEqual([]);
  } finally {
    await alice.close();
    await bob.close();
  }
});

test('a name the policy refuses gets the form, not a room', async ({ page }) => {
  await page.goto('/?name=not%20valid');
  await expect(page.getByTestId('state')).toHaveCount(0);
  await expect(page.locator('form input[name="name"]')).toBeVisible();
});

test('the join policy: a valid name gets a ticket, a bad name 403, another room 404', async ({ request }) => {
  const ticket = (session_id: string, peer_id: string) =>
    request.post('/api/p2p_join_token', { form: { session_id, peer_id, expires_in_secs: '3600' } });
  expect((await ticket('hello', 'carol')).status()).toBe(200);
  expect((await ticket('hello', 'not valid')).status()).toBe(403);
  expect((await ticket('elsewhere', 'carol')).status()).toBe(404);
});
