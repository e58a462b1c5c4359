/**
 * Label selectors as the API server reads them: the `labelSelector` query string
 * (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) and the LabelSelector object of webhooks'
 * namespaceSelector and objectSelector (matchLabels, matchExpressions).
 */
export type Labels = Readonly<Record<string, string>>;

interface Requirement {
  readonly key: string;
  readonly op: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values: readonly string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

function holds(r: Requirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  switch (r.op) {
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'In':
      return has && r.values.includes(labels[r.key]);
    case 'NotIn':
      return !has || !r.values.includes(labels[r.key]);
  }
}

/** Splits on commas outside parentheses. */
function terms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

export class SelectorSyntaxError extends Error {}

/** Parses a `labelSelector` query string; throws SelectorSyntaxError naming the bad term. */
export function parseSelectorString(text: string): Requirement[] {
  return terms(text).map((term) => {
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) return { key: m[1], op: m[2] === 'in' ? 'In' : 'NotIn', values: m[3].split(',').map((v) => v.trim()) } as Requirement;
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term);
    if (m) return { key: m[1], op: m[2] === '!=' ? 'NotIn' : 'In', values: [m[3]] } as Requirement;
    m = /^(!?)([\w./-]+)$/.exec(term);
    if (m) return { key: m[2], op: m[1] ? 'DoesNotExist' : 'Exists', values: [] } as Requirement;
    throw new SelectorSyntaxError(`unable to parse requirement: ${JSON.stringify(term)}`);
  });
}

export function matchesSelectorString(text: string, labels: Labels = {}): boolean {
  return parseSelectorString(text).every((r) => holds(r, labels));
}

/** A LabelSelector object; an absent or empty selector matches everything, as in Kubernetes. */
export function matchesLabelSelector(sel: LabelSelector | undefined, labels: Labels = {}): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const op = e.operator as Requirement['op'];
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(op)) return false;
    if (!holds({ key: e.key, op, values: e.values ?? [] }, labels)) return false;
  }
  return true;
}
