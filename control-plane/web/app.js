/**
 * The live mesh graph: picks namespaces, graph type and duration, subscribes to the dashboard's
 * /api/graph/watch WebSocket (a push on connect and after every scrape; reconnects with backoff),
 * and draws the graph with cytoscape + dagre. Updates change data in place; the layout runs
 * again only when the set of nodes changes, so nodes stay where they are.
 */
import { edgeHealth, edgeLabel, edgeSecurity, nodeLabel } from './graph-format.js';
import { graphStyle, layoutOptions } from './graph-style.js';
import { renderPanel } from './panel.js';
import { renderEdgePanel } from './edge-panel.js';
import { createEdgeLocks } from './edge-locks.js';

const $ = (id) => document.getElementById(id);
const GRAPH_TYPES = ['workload', 'app', 'versionedApp', 'service'];
const DURATIONS = ['60s', '300s', '600s'];
const MAX_FIT_ZOOM = 1.3;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];

/** What the user chose; mirrored in the page's query string so a reload keeps it. */
const query = new URLSearchParams(location.search);
const state = {
  namespaces: query.get('namespaces') ? query.get('namespaces').split(',').filter(Boolean) : null, // null: all
  allNamespaces: [],
  graphType: GRAPH_TYPES.includes(query.get('graphType')) ? query.get('graphType') : 'workload',
  duration: DURATIONS.includes(query.get('duration')) ? query.get('duration') : '60s',
  /** Display > Security: a lock on mTLS edges (on unless the query says security=off). */
  showSecurity: query.get('security') !== 'off',
  selected: null,
  proxies: undefined,
  graph: null,
};

/** Exposed for tests and curious users: the cytoscape instance and counters. */
const debug = { layouts: 0, updates: 0, lastUpdate: null, connection: 'connecting' };
window.minimesh = debug;

// cytoscape-dagre registered the 'dagre' layout itself when its script loaded after cytoscape's.
const cy = cytoscape({ container: $('graph'), style: graphStyle(), minZoom: 0.2, maxZoom: 3, boxSelectionEnabled: false, autoungrabify: false });
window.cy = cy;
const locks = createEdgeLocks(cy, $('edge-locks'), () => state.showSecurity);

// ---- status line -------------------------------------------------------------------------

function setStatus(kind, text) {
  debug.connection = kind;
  const el = $('status');
  el.dataset.state = kind;
  $('status-text').textContent = text;
}

function showUpdated() {
  $('updated').textContent = debug.lastUpdate ? `updated ${debug.lastUpdate.toLocaleTimeString()}` : '';
}

// ---- graph -------------------------------------------------------------------------------

function nodeElement(d) {
  return { group: 'nodes', data: { ...d, parent: d.parent ?? undefined, label: nodeLabel(d, state.graphType), isBox: d.isBox ?? '', isRoot: !!d.isRoot, raw: d } };
}

/** With Security on, an mTLS edge's label leaves room for its lock (graph-style.js). */
const lockRoom = (d) => state.showSecurity && edgeSecurity(d).mtls > 0;

function edgeElement(d) {
  return { group: 'edges', data: { id: d.id, source: d.source, target: d.target, label: edgeLabel(d), health: edgeHealth(d), mtls: edgeSecurity(d).mtls, lockRoom: lockRoom(d), raw: d } };
}

function applyGraph(graph) {
  state.graph = graph;
  const nodes = (graph?.elements?.nodes ?? []).map((n) => n.data).filter((d) => d && d.id);
  const edges = (graph?.elements?.edges ?? []).map((e) => e.data).filter((d) => d && d.id);
  const nodeIds = new Set(nodes.map((d) => d.id));
  let structural = cy.nodes().length !== nodes.length;
  cy.batch(() => {
    const edgeIds = new Set(edges.map((d) => d.id));
    cy.edges().filter((e) => !edgeIds.has(e.id())).remove();
    cy.nodes().filter((n) => !nodeIds.has(n.id())).remove();
    // Boxes first, so children find their parent.
    const ordered = [...nodes].sort((a, b) => (b.isBox ? 1 : 0) - (a.isBox ? 1 : 0));
    for (const d of ordered) {
      const el = nodeElement(d);
      const existing = cy.getElementById(d.id);
      if (existing.nonempty() && (existing.data('parent') ?? undefined) === el.data.parent) existing.data(el.data);
      else {
        existing.remove();
        cy.add(el);
        structural = true;
      }
    }
    for (const d of edges) {
      if (!nodeIds.has(d.source) || !nodeIds.has(d.target)) continue;
      const el = edgeElement(d);
      const existing = cy.getElementById(d.id);
      if (existing.nonempty() && existing.data('source') === d.source && existing.data('target') === d.target) existing.data(el.data);
      else {
        existing.remove();
        cy.add(el);
      }
    }
  });
  if (structural && cy.nodes().length > 0) relayout();
  debug.updates++;
  debug.lastUpdate = new Date();
  showUpdated();
  const empty = nodes.length === 0;
  $('empty').hidden = !empty;
  if (empty) $('empty-text').textContent = `No traffic in the last ${durationText(state.duration)} in ${state.namespaces ? state.namespaces.join(', ') : 'any namespace'}.`;
  if (state.selected && cy.getElementById(state.selected).empty()) closePanel();
  else if (state.selected) {
    refreshPanel();
    loadProxies();
  }
}

/** Fits the graph, but a small graph is not blown up past a readable zoom. */
function fit() {
  cy.fit(undefined, 40);
  if (cy.zoom() > MAX_FIT_ZOOM) {
    cy.zoom(MAX_FIT_ZOOM);
    cy.center();
  }
}

function relayout() {
  cy.layout(layoutOptions(false)).run();
  debug.layouts++;
  fit();
}

const durationText = (d) => `${parseInt(d, 10) / 60}m`;

// ---- side panel --------------------------------------------------------------------------

/** A node's name in the panel; its namespace too when it differs from the selected node's. */
function nameOf(id) {
  const n = cy.getElementById(id);
  if (n.empty()) return id;
  const d = n.data();
  const label = String(d.label ?? id).replace(/\n/g, ' ');
  const sel = cy.getElementById(state.selected);
  const here = sel.nonempty() && sel.isEdge() ? sel.source().data('namespace') : sel.data('namespace');
  return d.namespace && d.namespace !== 'unknown' && d.nodeType !== 'unknown' && d.namespace !== here ? `${label} (${d.namespace})` : label;
}

function refreshPanel() {
  const n = cy.getElementById(state.selected);
  if (n.empty()) return closePanel();
  if (n.isEdge()) return renderEdgePanel($('panel'), n.data('raw'), nameOf, closePanel);
  const edges = cy.edges().map((e) => e.data('raw'));
  renderPanel($('panel'), { ...n.data('raw'), label: n.data('label') }, edges, nameOf, state.proxies, closePanel);
}

async function loadProxies() {
  try {
    const res = await fetch('/api/proxies', { cache: 'no-store' });
    state.proxies = res.ok ? await res.json() : null;
  } catch {
    state.proxies = null;
  }
  if (state.selected) refreshPanel();
}

/** Opens the panel of a node or an edge; the rest of the graph is dimmed. */
function openPanel(node) {
  state.selected = node.id();
  const keep = node.isEdge() ? node.union(node.connectedNodes()) : node.closedNeighborhood();
  cy.elements().removeClass('dim');
  cy.elements().not(keep).not(keep.ancestors()).addClass('dim');
  refreshPanel();
  loadProxies();
  keepClearOfPanel();
}

/** Pans the graph left when the opened panel would cover part of it. */
function keepClearOfPanel() {
  const panel = $('panel').getBoundingClientRect();
  const stage = $('graph').getBoundingClientRect();
  const bb = cy.elements().renderedBoundingBox();
  const overlap = bb.x2 - (panel.left - stage.left - 16);
  const room = bb.x1 - 16;
  const dx = Math.min(overlap, room);
  if (overlap > 0 && dx > 0) cy.animate({ panBy: { x: -dx, y: 0 }, duration: 200 });
}

function closePanel() {
  state.selected = null;
  $('panel').hidden = true;
  cy.elements().removeClass('dim');
  cy.elements().unselect();
}

cy.on('tap', 'node[!isBox]', (ev) => openPanel(ev.target));
cy.on('tap', 'edge', (ev) => openPanel(ev.target));
cy.on('tap', (ev) => {
  if (ev.target === cy) closePanel();
});
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape') closePanel();
});

// ---- WebSocket subscription --------------------------------------------------------------

let ws = null;
let attempt = 0;
let retryTimer = null;
let generation = 0;

function watchUrl() {
  const p = new URLSearchParams({ graphType: state.graphType, duration: state.duration, boxBy: 'namespace' });
  const ns = state.namespaces ?? state.allNamespaces;
  if (ns.length) p.set('namespaces', ns.join(','));
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/graph/watch?${p}`;
}

function connect() {
  clearTimeout(retryTimer);
  const gen = ++generation;
  if (ws) ws.close();
  setStatus(attempt === 0 ? 'connecting' : 'reconnecting', attempt === 0 ? 'connecting…' : `reconnecting (attempt ${attempt + 1})…`);
  const sock = new WebSocket(watchUrl());
  ws = sock;
  sock.onopen = () => {
    if (gen !== generation) return;
    attempt = 0;
    setStatus('connected', 'connected');
  };
  sock.onmessage = (ev) => {
    if (gen !== generation) return;
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (msg?.type === 'graph') {
      setStatus('connected', 'connected');
      applyGraph(msg.graph);
    } else if (msg?.type === 'error') setStatus('error', `server: ${msg.message ?? 'error'}`);
  };
  sock.onclose = () => {
    if (gen !== generation) return;
    ws = null;
    const delay = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
    attempt++;
    let left = Math.round(delay / 1000);
    setStatus('reconnecting', `disconnected, reconnecting in ${left}s`);
    const tick = () => {
      if (gen !== generation) return;
      left--;
      if (left > 0) {
        setStatus('reconnecting', `disconnected, reconnecting in ${left}s`);
        retryTimer = setTimeout(tick, 1000);
      } else connect();
    };
    retryTimer = setTimeout(tick, Math.min(1000, delay));
  };
}

// ---- toolbar -----------------------------------------------------------------------------

function saveQuery() {
  const p = new URLSearchParams({ graphType: state.graphType, duration: state.duration });
  if (state.namespaces) p.set('namespaces', state.namespaces.join(','));
  if (!state.showSecurity) p.set('security', 'off');
  history.replaceState(null, '', `?${p}`);
}

function changed() {
  saveQuery();
  attempt = 0;
  connect();
}

function renderNamespaces() {
  const list = $('ns-list');
  const all = state.allNamespaces;
  const chosen = new Set(state.namespaces ?? all);
  list.replaceChildren(
    ...all.map((name) => {
      const box = Object.assign(document.createElement('input'), { type: 'checkbox', value: name, checked: chosen.has(name) });
      box.addEventListener('change', () => {
        const picked = [...list.querySelectorAll('input:checked')].map((i) => i.value);
        if (picked.length === 0) {
          box.checked = true; // at least one namespace
          return;
        }
        state.namespaces = picked.length === all.length ? null : picked;
        $('ns-summary').textContent = summary();
        changed();
      });
      const label = document.createElement('label');
      label.append(box, ` ${name}`);
      return label;
    }),
  );
  if (all.length === 0) list.textContent = 'no namespaces known';
  $('ns-summary').textContent = summary();
}

function summary() {
  if (!state.namespaces) return state.allNamespaces.length ? `all (${state.allNamespaces.length})` : 'all';
  if (state.namespaces.length === 0) return 'none';
  return state.namespaces.length <= 2 ? state.namespaces.join(', ') : `${state.namespaces.length} namespaces`;
}

$('ns-all').addEventListener('click', () => {
  state.namespaces = null;
  renderNamespaces();
  changed();
});

for (const [id, key] of [
  ['graph-type', 'graphType'],
  ['duration', 'duration'],
]) {
  const sel = $(id);
  sel.value = state[key];
  sel.addEventListener('change', () => {
    state[key] = sel.value;
    if (key === 'graphType') {
      cy.elements().remove(); // a different graph: lay it out afresh
      closePanel();
    }
    changed();
  });
}

async function start() {
  try {
    const res = await fetch('/api/namespaces', { cache: 'no-store' });
    const list = res.ok ? await res.json() : [];
    state.allNamespaces = (Array.isArray(list) ? list : []).map((n) => n?.name).filter(Boolean).sort();
  } catch {
    state.allNamespaces = [];
  }
  if (state.namespaces) state.namespaces = state.namespaces.filter((n) => state.allNamespaces.length === 0 || state.allNamespaces.includes(n));
  renderNamespaces();
  connect();
}

const security = $('show-security');
security.checked = state.showSecurity;
security.addEventListener('change', () => {
  state.showSecurity = security.checked;
  cy.batch(() => cy.edges().forEach((e) => e.data('lockRoom', lockRoom(e.data('raw')))));
  locks.update();
  saveQuery();
});

$('fit').addEventListener('click', fit);
$('relayout').addEventListener('click', relayout);
start();
