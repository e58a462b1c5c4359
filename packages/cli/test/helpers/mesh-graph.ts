/**
 * Checks of the control plane's graph on a running lab: Kiali's graph JSON from
 * `/api/namespaces/graph`, and the dashboard page in Debian's chromium (playwright-core).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';

export const DASHBOARD = 'http://127.0.0.1:20001';
export const CHROMIUM = '/usr/bin/chromium';

interface NodeData {
  id: string;
  nodeType: string;
  namespace: string;
  workload?: string;
  service?: string;
  app?: string;
}
interface EdgeData {
  id: string;
  source: string;
  target: string;
  isMTLS?: string;
  sourcePrincipal?: string;
  destPrincipal?: string;
  traffic?: { protocol: string; rates?: Record<string, string>; responses?: Record<string, unknown> };
}
export interface KialiGraph {
  elements: { nodes: { data: NodeData }[]; edges: { data: EdgeData }[] };
}

/** Polls the graph API until `from` (a workload) has an edge with traffic toward `to` (a service or workload name). */
export async function waitForEdge(t: Test, query: string, from: string, to: string, timeoutMs = 30000): Promise<{ graph: KialiGraph; edge: EdgeData | undefined }> {
  const end = Date.now() + timeoutMs;
  let graph: KialiGraph = { elements: { nodes: [], edges: [] } };
  let edge: EdgeData | undefined;
  while (Date.now() < end) {
    const res = await fetch(`${DASHBOARD}/api/namespaces/graph?${query}`);
    t.equal(res.status, 200, `GET /api/namespaces/graph?${query}`, { diagnostic: false });
    graph = (await res.json()) as KialiGraph;
    const ids = (name: string): Set<string> => new Set(graph.elements.nodes.filter((n) => n.data.workload === name || n.data.service === name).map((n) => n.data.id));
    const src = ids(from);
    const dst = ids(to);
    edge = graph.elements.edges.map((e) => e.data).find((e) => src.has(e.source) && dst.has(e.target) && Number(e.traffic?.rates?.http ?? e.traffic?.rates?.grpc ?? e.traffic?.rates?.tcp ?? 0) > 0);
    if (edge !== undefined) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { graph, edge };
}

/**
 * Opens the page on `namespaces` and waits for the lock (Display > Security) on the edge `edgeId`
 * of the graph JSON; returns its title (`mTLS 100%`), or undefined when none was drawn in time.
 */
export async function pageShowsLock(t: Test, namespaces: string, edgeId: string, shotName: string): Promise<string | undefined> {
  if (!fs.existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') t.fail(`${CHROMIUM} is missing and CI installs it (.ci/run)`);
    else t.comment(`SKIP: ${CHROMIUM} is missing (apt-get install -y chromium fonts-dejavu-core)`);
    return undefined;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  await page.goto(`${DASHBOARD}/?namespaces=${encodeURIComponent(namespaces)}&graphType=workload&duration=60s`);
  const lock = page.locator(`.edge-lock[data-edge="${edgeId}"]`);
  const title = await lock
    .waitFor({ state: 'visible', timeout: 30000 })
    .then(() => lock.getAttribute('title'))
    .catch(() => undefined);
  const dir = path.resolve('packages/cli/test-output');
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, shotName) });
  t.comment(`screenshot: ${path.join(dir, shotName)}`);
  return title ?? undefined;
}

/** Opens the page on `namespaces`, waits for an edge label with a non-zero rate between the two named nodes, saves a screenshot. */
export async function pageShowsEdge(t: Test, namespaces: string, from: string, to: string, shotName: string): Promise<void> {
  if (!fs.existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') t.fail(`${CHROMIUM} is missing and CI installs it (.ci/run)`);
    else t.comment(`SKIP: ${CHROMIUM} is missing (apt-get install -y chromium fonts-dejavu-core)`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${DASHBOARD}/?namespaces=${encodeURIComponent(namespaces)}&graphType=workload&duration=60s`);
  const found = await page
    .waitForFunction(
      ([a, b]) => {
        const cy = (globalThis as unknown as { cy?: { nodes(): { data(k: string): string; id(): string }[] & { filter(f: (n: { data(k: string): string }) => boolean): { id(): string }[] }; edges(): { data(k: string): string }[] } }).cy;
        if (!cy) return false;
        const label = (n: { data(k: string): string }): string => n.data('label');
        const src = cy.nodes().filter((n) => label(n) === a).map((n) => n.id());
        const dst = cy.nodes().filter((n) => label(n) === b).map((n) => n.id());
        const e = cy.edges().find((x) => src.includes(x.data('source')) && dst.includes(x.data('target')));
        const m = e === undefined ? null : /([\d.]+)rps/.exec(e.data('label'));
        return m !== null && Number(m[1]) > 0 ? e!.data('label') : false;
      },
      [from, to],
      { timeout: 30000 },
    )
    .then((h) => h.jsonValue() as Promise<string>)
    .catch(() => undefined);
  t.ok(found, `the page draws ${from} and ${to} with an edge whose rate is not zero: ${found ?? 'not found'}`);
  const dir = path.resolve('packages/cli/test-output');
  fs.mkdirSync(dir, { recursive: true });
  const shot = path.join(dir, shotName);
  await page.screenshot({ path: shot });
  t.comment(`screenshot: ${shot}`);
  t.same(problems, [], 'no console error on the page');
}
