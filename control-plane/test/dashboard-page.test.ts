/**
 * The live graph page in a real browser (Debian's chromium through playwright-core), against a
 * stand-in dashboard server: it draws the echo lab from the WebSocket push, updates in place on
 * the next push, opens a node's panel, and reconnects after the socket drops.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { echoGraph, IDS, startStandIn } from './helpers/dashboard-stand-in.js';

// These run inside the page (page.evaluate / waitForFunction); the server build has no DOM lib.
declare const window: any;
declare const document: any;

const CHROMIUM = '/usr/bin/chromium';
const OUT_DIR = fileURLToPath(new URL('../../test-output/', import.meta.url));
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface EdgeView {
  label: string;
  health: string;
}
interface Snapshot {
  nodes: Record<string, { label: string; x: number; y: number }>;
  edge: EdgeView | null;
  layouts: number;
  updates: number;
  connection: string;
}

/** What the page shows, read through the cytoscape instance it exposes as window.cy. */
function snapshot(page: Page): Promise<Snapshot> {
  return page.evaluate((ids) => {
    const w = window as unknown as { cy: any; minimesh: { layouts: number; updates: number; connection: string } };
    const nodes: Record<string, { label: string; x: number; y: number }> = {};
    for (const n of w.cy.nodes()) nodes[n.id()] = { label: n.data('label'), x: n.position('x'), y: n.position('y') };
    const e = w.cy.edges(`[source = "${ids.client}"][target = "${ids.service}"]`);
    return { nodes, edge: e.length ? { label: e.data('label'), health: e.data('health') } : null, layouts: w.minimesh.layouts, updates: w.minimesh.updates, connection: w.minimesh.connection };
  }, IDS);
}

async function clickNode(page: Page, id: string): Promise<void> {
  await page.waitForFunction(() => !window.cy.animated());
  const p = await page.evaluate((nodeId) => window.cy.getElementById(nodeId).renderedPosition(), id);
  const box = await page.locator('#graph').boundingBox();
  if (!box) throw new Error('no #graph box');
  await page.mouse.click(box.x + p.x, box.y + p.y);
}

const missing = !fs.existsSync(CHROMIUM);
if (missing && process.env.CI === 'true') t.fail(`${CHROMIUM} is missing and CI=true: install Debian's chromium (apt-get install -y chromium fonts-dejavu-core)`);

t.test('the graph page draws, updates in place, opens a panel and reconnects', { skip: missing && process.env.CI !== 'true' ? `${CHROMIUM} is missing (apt-get install -y chromium fonts-dejavu-core)` : false }, async (t) => {
  const server = await startStandIn(echoGraph('2.00'));
  t.teardown(() => server.close());
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });

  await page.goto(server.url);
  t.equal(await page.title(), 'minimesh — mesh graph');
  await page.waitForFunction(() => window.minimesh?.updates === 1);
  const first = await snapshot(page);
  t.equal(first.nodes[IDS.client]?.label, 'client-deployment', 'the client workload is drawn');
  t.equal(first.nodes[IDS.service]?.label, 'echo-service', 'the echo service is drawn');
  t.equal(first.nodes[IDS.echo]?.label, 'echo-deployment', 'the echo workload is drawn');
  t.equal(first.nodes[IDS.box]?.label, 'client', 'the namespace box is drawn');
  t.same(first.edge, { label: '2.00rps 0.0% 3ms', health: 'healthy' }, 'the client -> echo-service edge shows its rate, errors and p95');
  t.ok(first.nodes[IDS.client]!.x < first.nodes[IDS.service]!.x && first.nodes[IDS.service]!.x < first.nodes[IDS.echo]!.x, 'laid out left to right');
  t.equal(first.layouts, 1, 'one layout');
  await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'connected');
  t.match(await page.locator('#status').innerText(), /connected/);
  t.match(await page.locator('#updated').innerText(), /updated/);
  t.match(server.watches[0], /graphType=workload/);
  t.match(server.watches[0], /duration=60s/);
  t.match(server.watches[0], /namespaces=client%2Cistio-system/, 'all namespaces by default');

  server.push(echoGraph('3.50', '0.35'));
  await page.waitForFunction(() => window.minimesh.updates === 2);
  const second = await snapshot(page);
  t.same(second.edge, { label: '3.50rps 10.0% 3ms', health: 'failure' }, 'the second push changes the label, and 10 % 5xx is a failure');
  t.equal(second.layouts, 1, 'same nodes: no new layout');
  for (const id of Object.keys(first.nodes)) t.same(second.nodes[id], { ...first.nodes[id], label: second.nodes[id]?.label }, `${id} did not move`);

  await clickNode(page, IDS.client);
  const panel = page.locator('#panel');
  await panel.waitFor({ state: 'visible' });
  await page.locator('[data-testid=panel-proxy] .proxy').waitFor();
  t.match(await panel.locator('h2').innerText(), 'client-deployment');
  const outbound = await panel.locator('[data-testid=panel-outbound]').innerText();
  t.match(outbound, /echo-service/, 'outbound names the service');
  t.match(outbound, /3\.50rps/, 'outbound shows the rate');
  t.match(outbound, /10\.0%/, 'outbound shows the error %');
  t.match(outbound, /3ms/, 'outbound shows the p95');
  t.match(await panel.locator('[data-testid=panel-inbound]').innerText(), /no traffic/);
  const proxy = await panel.locator('[data-testid=panel-proxy]').innerText();
  t.match(proxy, /client-deployment-6d4b9c-x2k4p\.client/, 'the proxy behind the workload');
  t.match(proxy, /CDS SYNCED/);

  fs.mkdirSync(OUT_DIR, { recursive: true });
  const shot = path.join(OUT_DIR, 'dashboard-page.png');
  await page.screenshot({ path: shot });
  t.comment(`screenshot: ${shot}`);

  await clickNode(page, IDS.service);
  await page.locator('[data-testid=panel-proxy]', { hasText: 'no proxy' }).waitFor();
  t.match(await panel.locator('[data-testid=panel-inbound]').innerText(), /client-deployment/, 'the service panel lists its caller');

  server.dropSockets();
  await page.waitForFunction(() => window.minimesh.connection === 'reconnecting');
  t.match(await page.locator('#status').innerText(), /reconnecting/, 'the status line says so when the socket drops');
  await page.waitForFunction(() => window.minimesh.updates === 3, undefined, { timeout: 10_000 });
  t.equal(server.watches.length, 2, 'reconnected once');
  t.equal((await snapshot(page)).connection, 'connected');

  t.equal(server.requests.filter((r) => r.startsWith('GET /api/namespaces')).length, 1, 'no polling: the namespaces are read once');
  t.notOk(server.requests.some((r) => r.startsWith('GET /api/namespaces/graph')), 'the graph arrives over the WebSocket only');
  t.same(problems, [], 'no console error, no failed request');
});

/** Clicks the middle of an edge (its label takes no events, the line under it does). */
async function clickEdge(page: Page, id: string): Promise<void> {
  await page.waitForFunction(() => !window.cy.animated());
  const p = await page.evaluate((edgeId) => window.cy.getElementById(edgeId).renderedMidpoint(), id);
  const box = await page.locator('#graph').boundingBox();
  if (!box) throw new Error('no #graph box');
  await page.mouse.click(box.x + p.x, box.y + p.y);
}

t.test('mTLS edges carry a lock (Display > Security), absent on plaintext ones; the edge panel gives the share and the principals', { skip: missing && process.env.CI !== 'true' ? `${CHROMIUM} is missing (apt-get install -y chromium fonts-dejavu-core)` : false }, async (t) => {
  // The echo lab's graph with one mTLS edge (client -> echo-service, principals known) and one plaintext edge.
  const graph = (mtls: string) => {
    const g = echoGraph('2.00') as { elements: { edges: { data: Record<string, unknown> }[] } };
    const [toService, toEcho] = g.elements.edges;
    Object.assign(toService.data, { isMTLS: mtls, sourcePrincipal: 'spiffe://cluster.local/ns/client/sa/client', destPrincipal: 'spiffe://cluster.local/ns/client/sa/echo' });
    delete toEcho.data.isMTLS;
    return g;
  };
  const server = await startStandIn(graph('100'));
  t.teardown(() => server.close());
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

  await page.goto(server.url);
  await page.waitForFunction(() => window.minimesh?.updates === 1);
  const lock = page.locator('.edge-lock[data-edge="e_client_svc"]');
  await lock.waitFor({ state: 'visible' });
  t.equal(await page.locator('.edge-lock').count(), 1, 'one lock in all');
  t.equal(await page.locator('.edge-lock[data-edge="e_svc_echo"]').count(), 0, 'none on the plaintext edge');
  t.equal(await lock.getAttribute('title'), 'mTLS 100%');
  t.ok(await lock.locator('svg rect').count(), 'drawn as an SVG padlock');
  t.equal(await page.locator('#show-security').isChecked(), true, 'Display > Security is on by default');

  // The lock sits on its edge, just left of the label's box (the label moved right to make room).
  await page.waitForFunction(() => !window.cy.animated());
  const label = await page.evaluate(() => window.cy.getElementById('e_client_svc').renderedBoundingBox({ includeNodes: false, includeEdges: false, includeLabels: true }));
  const graphBox = (await page.locator('#graph').boundingBox())!;
  const lockBox = (await lock.boundingBox())!;
  const cx = lockBox.x + lockBox.width / 2 - graphBox.x;
  const cy = lockBox.y + lockBox.height / 2 - graphBox.y;
  t.ok(lockBox.x + lockBox.width - graphBox.x <= label.x1 + 1 && cx > label.x1 - 25 && cy > label.y1 && cy < label.y2, `the lock (${cx.toFixed(0)}, ${cy.toFixed(0)}) is just left of the label box (${label.x1.toFixed(0)}-${label.x2.toFixed(0)}, ${label.y1.toFixed(0)}-${label.y2.toFixed(0)})`);
  const mid = await page.evaluate(() => window.cy.getElementById('e_client_svc').renderedMidpoint());
  t.ok(Math.abs((lockBox.x - graphBox.x + label.x2) / 2 - mid.x) < 6, 'lock and label together stay centred on the edge');
  t.equal(await page.evaluate(() => window.cy.getElementById('e_client_svc').data('label')), '2.00rps 0.0% 3ms', 'the figures are unchanged');

  await clickEdge(page, 'e_client_svc');
  const panel = page.locator('#panel');
  await panel.waitFor({ state: 'visible' });
  t.equal(await panel.locator('.kind').innerText(), 'EDGE');
  t.equal(await panel.locator('h2').innerText(), 'client-deployment → echo-service');
  const security = await panel.locator('[data-testid=edge-security]').innerText();
  t.match(security, /mTLS enabled: 100% of the traffic/, 'the panel says mTLS, with the share');
  t.match(security, /from\s+spiffe:\/\/cluster\.local\/ns\/client\/sa\/client/, 'the source principal');
  t.match(security, /to\s+spiffe:\/\/cluster\.local\/ns\/client\/sa\/echo/, 'the destination principal');
  t.match(await panel.locator('[data-testid=edge-traffic]').innerText(), /2\.00rps/, 'and the traffic');
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const shot = path.join(OUT_DIR, 'dashboard-mtls.png');
  await page.screenshot({ path: shot });
  t.comment(`screenshot: ${shot}`);

  await clickEdge(page, 'e_svc_echo');
  await panel.locator('h2', { hasText: 'echo-service → echo-deployment' }).waitFor();
  t.match(await panel.locator('[data-testid=edge-security]').innerText(), /no mTLS: the traffic was plaintext/, 'the plaintext edge says so');

  // A partly mTLS edge: the share in the title.
  server.push(graph('67'));
  await page.waitForFunction(() => window.minimesh.updates === 2);
  await page.waitForFunction(() => document.querySelector('.edge-lock')?.getAttribute('title') === 'mTLS 67%');
  t.pass('67 % mTLS: the lock says so');

  // Display > Security off: no lock, remembered in the address; on again: back.
  await page.locator('#display-menu summary').click();
  await page.locator('#show-security').uncheck();
  await page.waitForFunction(() => document.querySelectorAll('.edge-lock').length === 0);
  t.pass('Security off: the lock is gone');
  t.match(page.url(), /security=off/);
  await page.locator('#show-security').check();
  await lock.waitFor({ state: 'visible' });
  t.pass('Security on: the lock is back');
  t.same(problems, [], 'no console error');
});
