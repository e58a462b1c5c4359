/**
 * How the graph looks: Kiali's shapes (workload = circle, app = rounded square, service =
 * triangle, unknown = grey dashed circle, namespace = compound box), edges coloured by health,
 * and the left-to-right dagre layout.
 */

/** Edge and legend colours (PatternFly-like, as Kiali). */
export const COLORS = {
  healthy: '#3e8635',
  degraded: '#f0ab00',
  failure: '#c9190b',
  tcp: '#0066cc',
  idle: '#8a8d90',
  nodeBorder: '#6a6e73',
  selected: '#2b9af3',
  text: '#151515',
  boxFill: '#f5f6f7',
  boxBorder: '#b8bbbe',
};

export const NODE_SHAPES = { workload: 'ellipse', app: 'round-rectangle', service: 'round-triangle', unknown: 'ellipse' };

const FONT = 'system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif';

export function graphStyle() {
  return [
    {
      selector: 'node',
      style: {
        shape: (n) => NODE_SHAPES[n.data('nodeType')] ?? 'ellipse',
        width: 30,
        height: 30,
        'background-color': '#ffffff',
        'border-width': 1.5,
        'border-color': COLORS.nodeBorder,
        label: 'data(label)',
        'font-family': FONT,
        'font-size': 11,
        color: COLORS.text,
        'text-valign': 'bottom',
        'text-halign': 'center',
        'text-margin-y': 5,
        'text-wrap': 'wrap',
        'text-background-color': '#ffffff',
        'text-background-opacity': 0.9,
        'text-background-padding': 2,
        'text-background-shape': 'round-rectangle',
        'z-index': 10,
      },
    },
    { selector: 'node[nodeType = "service"]', style: { width: 32, height: 28 } },
    {
      selector: 'node[nodeType = "unknown"]',
      style: { 'background-color': '#e4e5e6', 'border-style': 'dashed', 'border-color': COLORS.idle, color: '#4f5255' },
    },
    { selector: 'node[?isRoot][!isBox]', style: { 'border-width': 2.5 } },
    {
      selector: 'node[?isBox]',
      style: {
        shape: 'round-rectangle',
        'background-color': COLORS.boxFill,
        'border-color': COLORS.boxBorder,
        'border-width': 1,
        'text-valign': 'top',
        'text-halign': 'center',
        'text-margin-y': -3,
        'font-size': 12,
        'font-weight': 600,
        color: '#4f5255',
        'text-background-opacity': 0,
        padding: 22,
        'z-index': 1,
      },
    },
    { selector: 'node:selected', style: { 'border-color': COLORS.selected, 'border-width': 3, 'background-color': '#e7f1fa' } },
    {
      selector: 'edge',
      style: {
        width: 2,
        'curve-style': 'bezier',
        'line-color': (e) => COLORS[e.data('health')] ?? COLORS.idle,
        'target-arrow-color': (e) => COLORS[e.data('health')] ?? COLORS.idle,
        'target-arrow-shape': 'vee',
        'arrow-scale': 1.1,
        label: 'data(label)',
        // An mTLS edge's lock (edge-locks.js) sits just left of its label: the two stay centred.
        'text-margin-x': (e) => (e.data('lockRoom') ? 8 : 0),
        'font-family': FONT,
        'font-size': 10,
        color: '#3c3f42',
        'text-background-color': '#ffffff',
        'text-background-opacity': 0.92,
        'text-background-padding': 2,
        'text-background-shape': 'round-rectangle',
        'text-border-width': 1,
        'text-border-color': '#d2d2d2',
        'text-border-opacity': 1,
        'text-events': 'no',
        'z-index': 5,
      },
    },
    { selector: 'edge[health = "idle"]', style: { 'line-style': 'dashed', width: 1.5 } },
    { selector: 'edge.dim, node.dim', style: { opacity: 0.25 } },
    { selector: 'edge:selected', style: { width: 3.5 } },
  ];
}

/** Kiali's default: dagre, left to right. */
export function layoutOptions(fit = true) {
  return { name: 'dagre', rankDir: 'LR', nodeSep: 40, rankSep: 110, edgeSep: 20, padding: 40, fit, animate: false, nodeDimensionsIncludeLabels: true };
}
