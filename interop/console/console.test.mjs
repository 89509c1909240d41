// rmq-dashboard in headless Chromium (Debian's package, driven over the DevTools protocol by
// playwright-core). interop/console.sh starts the servers and the console and runs this once
// per target with:
//   CONSOLE_URL       the console, http://127.0.0.1:PORT
//   CONSOLE_TARGET    rmq (every step) or apache (read-only pages)
//   CONSOLE_PASSWORD  admin's configured password, or
//   CONSOLE_LOG       the console's log, to read the password it generated at first start
//   CONSOLE_NAMESRV   the name server, CONSOLE_CLIENT the console_client example binary,
//   CONSOLE_WORK      a temp dir, CONSOLE_OUT where screenshots go
// Any failed step throws: the process exits 1 with a screenshot of the page it was on.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';

const env = process.env;
const BASE = env.CONSOLE_URL;
const TARGET = env.CONSOLE_TARGET ?? 'rmq';
const OUT = env.CONSOLE_OUT ?? 'console-screenshots';
fs.mkdirSync(OUT, { recursive: true });
const children = [];

function log(...a) {
  console.log(`[console ${TARGET}]`, ...a);
}

/** Polls `cond` (async, truthy = done) every 500 ms for `secs` seconds. */
async function waitFor(what, secs, cond) {
  const end = Date.now() + secs * 1000;
  let last;
  while (Date.now() < end) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out after ${secs}s waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/** A console_client child process (`extra`: a send's key and body); `lines` collects what it
 * printed, `stop()` ends it and `exited` resolves with its exit code. */
function client(group, topic, mode, ...extra) {
  const p = spawn(env.CONSOLE_CLIENT, [env.CONSOLE_NAMESRV, group, topic, mode, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((r) => p.on('exit', r));
  // SIGTERM: the consumer shuts down cleanly (offsets persisted, unregistered) and exits
  const out = { proc: p, lines: [], exited, stop: () => { p.kill('SIGTERM'); return exited; } };
  let buf = '';
  p.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      out.lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  const errLog = fs.createWriteStream(path.join(env.CONSOLE_WORK, `consumer-${group}-${mode}.log`));
  p.stderr.pipe(errLog);
  children.push(p);
  return out;
}

/** The password: configured, or the one the console logged at first start. */
function password() {
  if (env.CONSOLE_PASSWORD) return env.CONSOLE_PASSWORD;
  const text = fs.readFileSync(env.CONSOLE_LOG, 'utf8');
  const m = text.match(/with password (\S+) \(shown only now/);
  assert.ok(m, `no generated password in ${env.CONSOLE_LOG}`);
  assert.equal(text.split(m[1]).length - 1, 1, 'the generated password is printed exactly once');
  return m[1];
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  // a fresh temporary profile per launch; no background traffic (the network is closed)
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
let step = 'start';

/** Opens `p`, checks it is a page of the console (not an error or the login), returns it. */
async function open(p, shot) {
  const resp = await page.goto(BASE + p);
  assert.equal(resp.status(), 200, `GET ${p}: HTTP ${resp.status()}: ${(await page.textContent('body')).slice(0, 300)}`);
  assert.ok(!page.url().includes('/login'), `GET ${p} went to the login page`);
  if (shot) await page.screenshot({ path: path.join(OUT, `${TARGET}-${shot}.png`), fullPage: true });
  return page;
}

async function text(selector = 'main') {
  return (await page.textContent(selector)) ?? '';
}

async function run(name, fn) {
  step = name;
  const t0 = Date.now();
  await fn();
  log(`ok   ${name} (${Date.now() - t0} ms)`);
}

try {
  await run('a page without a session sends the browser to the login page', async () => {
    await page.goto(BASE + '/topics');
    assert.match(new URL(page.url()).pathname, /^\/login$/);
    await page.screenshot({ path: path.join(OUT, `${TARGET}-login.png`) });
  });

  await run('log in', async () => {
    await page.fill('input[name=user]', 'admin');
    await page.fill('input[name=password]', password());
    await Promise.all([page.waitForNavigation(), page.click('form.login button[type=submit]')]);
    assert.ok(!page.url().includes('/login'), `still on the login page: ${await text('body')}`);
    assert.match(new URL(page.url()).pathname, /^\/topics$/, 'back to the page asked for');
  });

  await run('a POST without the CSRF token is refused', async () => {
    const resp = await page.request.post(BASE + '/dead-letters/resend', {
      form: { group: 'any', id: 'any' },
      maxRedirects: 0,
    });
    assert.equal(resp.status(), 403);
  });

  await run('overview and cluster show the broker', async () => {
    await open('/', 'overview');
    await open('/cluster', 'cluster');
    assert.match(await text(), /broker-a/);
  });

  const steps = await import('./rmq-steps.mjs');
  const ctx = { page, open, text, run, waitFor, client, log, BASE, target: TARGET };
  if (TARGET === 'rmq') {
    await steps.default(ctx);
  } else {
    await steps.apacheSteps(ctx);
    await run('the other pages render against Apache 4.9.7', async () => {
      await open('/topics', 'topics');
      await open('/groups', 'groups');
      await open('/producers', 'producers');
      await open('/trace?id=0A0000000000000000000000', 'trace');
      await open('/', 'overview');
    });
  }
  log('all steps passed; screenshots in', OUT);
} catch (e) {
  const shot = path.join(OUT, `${TARGET}-FAILED.png`);
  await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
  console.error(`[console ${TARGET}] FAILED at "${step}": ${e.stack ?? e}\n  page ${page.url()} (screenshot ${shot})`);
  process.exitCode = 1;
} finally {
  for (const c of children) c.kill('SIGTERM');
  await browser.close();
}
