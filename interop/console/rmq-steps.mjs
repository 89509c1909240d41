// The state-changing steps of the console test, against rmq (console.test.mjs runs them after
// logging in): create a topic, send, find by key, a group's lag falling to zero, an offset
// reset, resend to one consumer, a dead letter resent and exported.
import assert from 'node:assert/strict';

const TOPIC = 'ConsoleE2E';
const GROUP = 'cg-console-e2e';
const DLQ_TOPIC = 'ConsoleE2EDlq';
const DLQ_GROUP = 'cg-console-dlq';

/** How often a consumer printed `<what> <key>`. */
const count = (c, what, key) => c.lines.filter((l) => l === `${what} ${key}`).length;

/** Form helpers on the console's pages. */
function helpers({ page, open, text, waitFor }) {
  /** Submits the form matched by `formSel` and waits for the page it redirects to. */
  async function submit(formSel) {
    await Promise.all([page.waitForNavigation(), page.click(`${formSel} button[type=submit]`)]);
  }
  /** The notice line after a POST; only an error notice without a success one fails. */
  async function notice() {
    const ok = await page.$('p.notice.ok');
    if (ok) return (await ok.textContent()) ?? '';
    const err = await page.$('p.notice.err');
    throw new Error(`the console says: ${err ? await err.textContent() : '(no notice)'}`);
  }
  async function createTopic(name) {
    await open('/topics');
    await page.fill('form[method=post][action="/topics"] input[name=topic]', name);
    await page.fill('form[method=post][action="/topics"] input[name=write_queues]', '2');
    await page.fill('form[method=post][action="/topics"] input[name=read_queues]', '2');
    await submit('form[method=post][action="/topics"]');
    await notice();
    // the broker registers the new topic with the name server on its own schedule
    await waitFor(`a route for ${name}`, 30, async () => {
      await open(`/topics/${name}`);
      return !(await page.$('p.notice.err'));
    });
  }
  async function send(topic, key, body) {
    await open(`/topics/${topic}`);
    const form = `form[action="/topics/${topic}/send"]`;
    await page.fill(`${form} input[name=key]`, key);
    await page.fill(`${form} input[name=body]`, body);
    await submit(form);
    return notice();
  }
  /** The group's lag on `topic` from its page's progress table (the first table: topic,
   * broker, queue, broker offset, consumer offset, lag); null while no queue of the topic is
   * listed (a group has no row for a topic before its first committed offset). */
  async function lag(group, topic = TOPIC) {
    await open(`/groups/${group}`);
    const rows = await page.$eval('main table', (t) =>
      [...t.rows].map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
    const mine = rows.filter((r) => r[0] === topic);
    return mine.length ? mine.reduce((sum, r) => sum + Number(r[5]), 0) : null;
  }
  /** Opens the page of the message with `key` once its track says CONSUMED for GROUP. */
  async function openTracked(key) {
    await waitFor(`${key} tracked CONSUMED by ${GROUP}`, 30, async () => {
      await open(`/messages?topic=${TOPIC}&key=${key}`);
      await Promise.all([page.waitForNavigation(), page.click('table.messages tbody tr a')]);
      const track = await page.$$eval('table.tracks tbody tr', (trs) => trs.map((tr) => [tr.cells[0].textContent.trim(), tr.cells[1].textContent.trim()]));
      return track.length === 1 && track[0][0] === GROUP && track[0][1] === 'CONSUMED';
    });
  }
  return { submit, notice, createTopic, send, lag, openTracked };
}

/** Create a topic, send two messages, find one by key and list them by time: rmq and Apache. */
async function messageSteps({ page, open, text, run, waitFor, target }, { createTopic, send }) {
  const shot = (name) => page.screenshot({ path: `${process.env.CONSOLE_OUT}/${target}-${name}.png`, fullPage: true });
  await run('create a topic', async () => {
    await createTopic(TOPIC);
    await open('/topics', 'topics');
    assert.match(await text(), new RegExp(TOPIC));
    await open(`/topics/${TOPIC}`, 'topic');
  });

  await run('send a message and find it by key', async () => {
    await send(TOPIC, 'e2e-key-1', 'hello from the console');
    await open(`/messages?topic=${TOPIC}&key=e2e-key-1`);
    await waitFor('the message indexed by key', 10, async () => {
      await open(`/messages?topic=${TOPIC}&key=e2e-key-1`);
      return (await page.$$('table.messages tbody tr')).length === 1;
    });
    await shot('messages-by-key');
    await Promise.all([page.waitForNavigation(), page.click('table.messages tbody tr a')]);
    const detail = await text();
    assert.match(detail, /hello from the console/);
    assert.match(detail, /UTF-8 text, 22 bytes/);
    assert.match(detail, /No group consumes/);
  });

  await run('the topic lists its messages by time, newest first', async () => {
    await send(TOPIC, 'e2e-key-2', 'second');
    await open(`/messages?topic=${TOPIC}`, 'messages');
    const rows = await page.$$eval('table.messages tbody tr', (trs) => trs.map((tr) => tr.cells[2].textContent));
    assert.deepEqual(rows, ['e2e-key-2', 'e2e-key-1']);
  });
}

/** A consumer with no retry budget makes a dead letter; it is listed, exported and resent. */
async function deadLetterSteps({ page, text, run, waitFor, client, target, open }, { createTopic, send, submit, notice }) {
  const consumer = client;
  await run('a dead letter is listed, exported and resent to its group', async () => {
    await createTopic(DLQ_TOPIC);
    const failing = consumer(DLQ_GROUP, DLQ_TOPIC, 'fail');
    await waitFor('the failing consumer started', 30, () => failing.lines.some((l) => l.startsWith('started')));
    await send(DLQ_TOPIC, 'dlq-key-1', 'doomed body');
    await waitFor('the message failed', 60, () => count(failing, 'failed', 'dlq-key-1') >= 1);
    await waitFor('a dead letter listed', 60, async () => {
      await open(`/dead-letters?group=${DLQ_GROUP}`);
      return (await page.$$('table.messages tbody tr')).length === 1;
    });
    assert.match(await text(), new RegExp(DLQ_TOPIC), 'the original topic is shown');
    await page.screenshot({ path: `${process.env.CONSOLE_OUT}/${target}-dead-letters.png`, fullPage: true });
    await failing.stop();

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[href^="/dead-letters/export"]')]);
    const lines = (await (await import('node:fs')).promises.readFile(await download.path(), 'utf8')).trim().split('\n');
    assert.equal(lines.length, 1);
    const exported = JSON.parse(lines[0]);
    assert.equal(Buffer.from(exported.bodyBase64, 'base64').toString(), 'doomed body');
    assert.deepEqual(exported.keys, ['dlq-key-1']);
    assert.equal(exported.originalTopic, DLQ_TOPIC);

    const healed = consumer(DLQ_GROUP, DLQ_TOPIC, 'ok');
    await waitFor('the healed consumer started', 30, () => healed.lines.some((l) => l.startsWith('started')));
    await page.check('table.messages tbody input[type=checkbox]');
    await submit('form[action="/dead-letters/resend"]');
    assert.match(await notice(), /1 message\(s\) resent/);
    await waitFor('the resent dead letter consumed once', 60, () => count(healed, 'consumed', 'dlq-key-1') === 1);
    await healed.stop();
  });

}

/** A consumer drains the topic, the message's page says CONSUMED, and a resend to that
 * consumer (CONSUME_MESSAGE_DIRECTLY through the broker) is answered and consumed. */
async function consumeDirectlySteps({ page, run, waitFor, client, target }, { submit, notice, lag, openTracked }) {
  const c = client(GROUP, TOPIC, 'ok');
  await run('a consumer drains the topic; one message resent to it (CONSUME_MESSAGE_DIRECTLY)', async () => {
    await waitFor('both messages consumed', 60, () => count(c, 'consumed', 'e2e-key-1') === 1 && count(c, 'consumed', 'e2e-key-2') === 1);
    await waitFor('lag 0: the offsets committed', 30, async () => (await lag(GROUP)) === 0);
    await openTracked('e2e-key-1');
    await page.screenshot({ path: `${process.env.CONSOLE_OUT}/${target}-message.png`, fullPage: true });
    await submit('form[action="/messages/consume"]');
    assert.match(await notice(), /CR_SUCCESS/);
    await waitFor('the consumer saw it once more', 10, () => count(c, 'consumed', 'e2e-key-1') === 2);
  });
  await c.stop();
}

/** What runs against Apache 4.9.7: the message pages on a topic made through the console. */
export async function apacheSteps(ctx) {
  const h = helpers(ctx);
  await messageSteps(ctx, h);
  await consumeDirectlySteps(ctx, h);
  await deadLetterSteps(ctx, h);
}

/** Everything, against rmq. */
export default async function rmqSteps(ctx) {
  const { page, open, text, run, waitFor, client } = ctx;
  const { submit, notice, createTopic, send, lag, openTracked } = helpers(ctx);
  const consumer = client;
  await messageSteps(ctx, { createTopic, send });

  const ok = consumer(GROUP, TOPIC, 'ok');
  await run("a group's lag falls to zero while a consumer runs", async () => {
    await waitFor('both messages consumed', 60, () => count(ok, 'consumed', 'e2e-key-1') === 1 && count(ok, 'consumed', 'e2e-key-2') === 1);
    await waitFor('lag 0: the offsets committed', 30, async () => (await lag(GROUP)) === 0);
    await ok.stop();
    for (const k of ['e2e-key-3', 'e2e-key-4', 'e2e-key-5']) await send(TOPIC, k, 'backlog');
    assert.equal(await lag(GROUP), 3);
    await page.screenshot({ path: `${process.env.CONSOLE_OUT}/rmq-group-lag.png`, fullPage: true });
  });

  const ok2 = consumer(GROUP, TOPIC, 'ok');
  await run('the backlog is consumed: lag 0 again', async () => {
    await waitFor('lag 0', 60, async () => (await lag(GROUP)) === 0);
    for (const k of ['e2e-key-3', 'e2e-key-4', 'e2e-key-5']) assert.equal(count(ok2, 'consumed', k), 1, k);
    assert.equal(count(ok2, 'consumed', 'e2e-key-1'), 0, 'nothing consumed twice');
    await page.screenshot({ path: `${process.env.CONSOLE_OUT}/rmq-group.png`, fullPage: true });
  });

  await run('reset the offset to the earliest message: everything is consumed again', async () => {
    await open(`/groups/${GROUP}`);
    const form = 'form[action="/reset-offset"]';
    await page.fill(`${form} input[name=topic]`, TOPIC);
    await page.selectOption(`${form} select[name=to]`, 'earliest');
    await submit(form);
    await notice();
    await waitFor('every message consumed a second time', 60, () =>
      ['e2e-key-1', 'e2e-key-2'].every((k) => count(ok2, 'consumed', k) === 1)
      && ['e2e-key-3', 'e2e-key-4', 'e2e-key-5'].every((k) => count(ok2, 'consumed', k) === 2));
    await waitFor('lag 0', 30, async () => (await lag(GROUP)) === 0);
  });

  await run('resend one message to one consumer (CONSUME_MESSAGE_DIRECTLY)', async () => {
    await openTracked('e2e-key-1');
    await page.screenshot({ path: `${process.env.CONSOLE_OUT}/rmq-message.png`, fullPage: true });
    await submit('form[action="/messages/consume"]');
    const said = await notice();
    assert.match(said, /CR_SUCCESS/);
    await waitFor('the consumer saw it once more', 10, () => count(ok2, 'consumed', 'e2e-key-1') === 2);
  });
  await ok2.stop();

  await deadLetterSteps(ctx, helpers(ctx));

  await run("a traced message's path: send, store, consumption", async () => {
    const sender = client('pg-console-trace', TOPIC, 'send', 'trace-key-1', 'traced body');
    assert.equal(await sender.exited, 0, 'the traced send');
    const id = sender.lines.find((l) => l.startsWith('sent '))?.slice(5);
    assert.ok(id, `no message id in ${sender.lines}`);
    const traced = consumer(GROUP, TOPIC, 'ok');
    await waitFor('the traced message consumed', 60, () => count(traced, 'consumed', 'trace-key-1') === 1);
    await waitFor('send and consumption traced', 60, async () => {
      await open(`/trace?topic=${TOPIC}&id=${id}`);
      const t = await text();
      return t.includes('pg-console-trace') && t.includes(GROUP) && /ms\s*success/.test(t);
    });
    const rows = await page.$$eval('table.trace', (ts) => ts.map((t) => t.tBodies[0].rows.length));
    assert.deepEqual(rows, [1, 1, 1], 'one send, one store, one consumption');
    await page.screenshot({ path: `${process.env.CONSOLE_OUT}/rmq-trace.png`, fullPage: true });
    await traced.stop();
    await open(`/trace?topic=${TOPIC}&id=none-such`);
    assert.match(await text(), /No trace records/);
  });

  await run('producers and the overview render', async () => {
    await open('/producers', 'producers');
    await open('/', 'overview');
  });
}
