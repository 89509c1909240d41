// Page timings of rmq-dashboard in headless Chromium (bench/console.sh starts the servers):
// every page in PAGES loaded REPEAT times after one warm-up load; per page the p50/p95 of
//   server = responseEnd - requestStart (the request until the document's last byte), and
//   load   = loadEventEnd - startTime   (navigation start until the load event),
// from the Navigation Timing API. Env: CONSOLE_URL, CONSOLE_PASSWORD, REPEAT (default 30).
import { chromium } from 'playwright-core';

const BASE = process.env.CONSOLE_URL;
const REPEAT = Number(process.env.REPEAT ?? 30);
const PAGES = (process.env.PAGES ?? [
  '/',
  '/cluster',
  '/topics',
  '/topics?filter=BenchTopic99',
  '/topics/BenchTopic0',
  '/groups',
  '/groups/BenchGroup0',
  '/producers',
  '/messages?topic=BenchTopic0',
  '/messages?topic=BenchTopic0&key=bench-key',
  '/dead-letters?group=BenchGroup0',
  '/trace?topic=BenchTopic0&id=0A0000000000000000000000',
].join(' ')).split(' ');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage();
await page.goto(BASE + '/login');
await page.fill('input[name=user]', 'admin');
await page.fill('input[name=password]', process.env.CONSOLE_PASSWORD);
await Promise.all([page.waitForNavigation(), page.click('form.login button[type=submit]')]);
if (page.url().includes('/login')) throw new Error('login failed');

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
let worst = 0;
console.log(`page timings, ${REPEAT} loads each (ms): server p50 / p95, browser load p50 / p95`);
for (const p of PAGES) {
  const server = [];
  const load = [];
  for (let i = 0; i <= REPEAT; i++) {
    const resp = await page.goto(BASE + p, { waitUntil: 'load' });
    if (resp.status() !== 200) throw new Error(`GET ${p}: HTTP ${resp.status()}`);
    const t = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0];
      return { server: n.responseEnd - n.requestStart, load: n.loadEventEnd - n.startTime };
    });
    if (i > 0) {
      server.push(t.server);
      load.push(t.load);
    }
  }
  const row = [pct(server, 50), pct(server, 95), pct(load, 50), pct(load, 95)].map((x) => x.toFixed(1));
  worst = Math.max(worst, pct(load, 95), pct(server, 95));
  console.log(`${p.padEnd(48)} ${row[0].padStart(7)} / ${row[1].padStart(7)}   ${row[2].padStart(7)} / ${row[3].padStart(7)}`);
}
console.log(`worst p95: ${worst.toFixed(1)} ms (goal < 200 ms)`);
await browser.close();
