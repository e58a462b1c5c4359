/**
 * Kiali's security badge: a lock on every edge whose traffic was (partly) mutual TLS. The locks
 * are small SVGs in a layer over the graph canvas (the page's fonts have no lock glyph), kept just
 * left of their edge's label on every frame cytoscape renders, scaled with the zoom.
 * Each has `data-edge` (the edge id) and a title with the mTLS share; they take no pointer events.
 */
import { edgeSecurity, formatShare } from './graph-format.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** The lock's size at zoom 1, in px, and its distance from the label's box. */
const SIZE = 11;
const GAP = 2;

/** A padlock: shackle and body. */
export function lockSvg(size = SIZE) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 12 14');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(Math.round((size * 14) / 12)));
  svg.setAttribute('aria-hidden', 'true');
  const shackle = document.createElementNS(SVG_NS, 'path');
  shackle.setAttribute('d', 'M3.2 6.2V4.3a2.8 2.8 0 0 1 5.6 0v1.9');
  shackle.setAttribute('fill', 'none');
  shackle.setAttribute('stroke', 'currentColor');
  shackle.setAttribute('stroke-width', '1.7');
  const body = document.createElementNS(SVG_NS, 'rect');
  for (const [k, v] of Object.entries({ x: '1', y: '6', width: '10', height: '7.6', rx: '1.6', fill: 'currentColor' })) body.setAttribute(k, v);
  svg.append(shackle, body);
  return svg;
}

/** The layer of locks over `cy`; `enabled()` says whether the Security display option is on. */
export function createEdgeLocks(cy, layer, enabled) {
  const locks = new Map();
  let queued = false;

  function place() {
    queued = false;
    const on = enabled();
    const seen = new Set();
    const zoom = cy.zoom();
    for (const e of on ? cy.edges() : []) {
      const sec = edgeSecurity(e.data('raw'));
      if (!(sec.mtls > 0)) continue;
      const id = e.id();
      seen.add(id);
      let el = locks.get(id);
      if (el === undefined) {
        el = document.createElement('span');
        el.className = 'edge-lock';
        el.dataset.edge = id;
        el.append(lockSvg());
        layer.append(el);
        locks.set(id, el);
      }
      el.title = `mTLS ${formatShare(sec.mtls)}`;
      el.dataset.mtls = String(sec.mtls);
      const mid = e.renderedMidpoint();
      // The label is shifted right (graph-style.js) to leave the lock room at its left end.
      let x = mid.x;
      if (e.data('label')) {
        const bb = e.renderedBoundingBox({ includeNodes: false, includeEdges: false, includeLabels: true, includeMainLabels: true, includeSourceLabels: false, includeTargetLabels: false, includeOverlays: false, includeUnderlays: false });
        if (Number.isFinite(bb.x1) && bb.w > 0) x = bb.x1 - (GAP + SIZE / 2) * zoom;
      }
      el.style.transform = `translate(${x}px, ${mid.y}px) translate(-50%, -50%) scale(${zoom})`;
      el.classList.toggle('dim', e.hasClass('dim'));
    }
    for (const [id, el] of locks) {
      if (!seen.has(id)) {
        el.remove();
        locks.delete(id);
      }
    }
  }

  const schedule = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(place);
  };
  cy.on('render', schedule);
  return { update: schedule, count: () => locks.size };
}
