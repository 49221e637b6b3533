import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { cleanup, closed, connect, received, startServer } from '../integration/helpers';

/** Debian's chromium (`apt-get install chromium`; `.ci/run` installs it). */
const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = resolve(__dirname, '..', '..', 'test-output');

let browser: Browser;
const pages: Page[] = [];

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 30_000);

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  // Pages first: an open page would reconnect to a server that is closing.
  await Promise.all(pages.splice(0).map((page) => page.close()));
  await cleanup();
});

/** Opens the inspector page and waits for its first hello; collects the page's errors (CSP violations included). */
async function openPage(port: number): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  pages.push(page);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(`http://127.0.0.1:${port}/inspect`);
  await page.waitForSelector('body[data-connected="true"]');
  return { page, errors };
}

const row = (id: string) => `#actors tr[data-id="${id}"]`;

describe('the inspector page in chromium', () => {
  it('shows a client open, its counters moving, then closed with its code', async () => {
    const { url, port } = await startServer({ inspector: true });
    const { page, errors } = await openPage(port);
    await page.waitForSelector(`${row('supervisor')}[data-state="listening"]`);

    const client = await connect(url);
    await page.waitForSelector(`${row('conn-1')}[data-state="open"]`);
    for (let i = 0; i < 5; i++) client.send(`message ${i}`);
    await received(client, 5);
    await page.locator(`${row('conn-1')} td.in`, { hasText: /^5$/ }).waitFor();
    expect(await page.textContent(`${row('conn-1')} td.out`)).toBe('5');

    await page.click(row('conn-1'));
    await page.waitForSelector('#diagram .st.active[data-path="open"]');
    expect(await page.textContent('#title')).toBe('conn-1');

    const other = await connect(url);
    other.send('still open');
    await received(other, 1);
    client.close(1000, 'bye');
    await closed(client);

    await page.waitForSelector(`${row('conn-1')}[data-state="closed"][data-code="1000"]`);
    expect(await page.textContent(`${row('conn-1')} td.state`)).toBe('closed 1000: bye');
    await page.waitForSelector('#diagram .st.active[data-path="closed"]');
    expect(await page.$$eval('#diagram .st.active', (boxes) => boxes.map((b) => b.getAttribute('data-path')))).toEqual(['closed']);
    await page.waitForSelector(`${row('conn-2')}[data-state="open"]`);
    // The pool's counts, shown with the supervisor: one open, two accepted.
    await page.locator(`${row('supervisor')} td.state`, { hasText: '(1 open, 2 accepted)' }).waitFor();

    await page.locator(`${row('conn-2')} td.in`, { hasText: /^1$/ }).waitFor();
    await page.click(row('conn-2'));
    await page.waitForSelector('#diagram .st.active[data-path="open"]');
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: resolve(OUTPUT, 'inspector.png'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
