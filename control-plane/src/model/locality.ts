/**
 * Where a workload runs, as Istio knows it: the `istio-locality` pod label
 * (`region.zone.subzone`) when set, else the labels of the pod's Node
 * (`topology.kubernetes.io/region`, `topology.kubernetes.io/zone`, `topology.istio.io/subzone`);
 * for a ServiceEntry endpoint, its `locality` field (`region/zone/subzone`).
 */
import type { Node, Pod } from '@minimesh/kube';

export interface LocalityModel {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export const REGION_LABEL = 'topology.kubernetes.io/region';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const SUBZONE_LABEL = 'topology.istio.io/subzone';
/** Istio's pod label overriding the Node's locality: `region.zone.subzone` (dots, since labels cannot hold `/`). */
export const ISTIO_LOCALITY_LABEL = 'istio-locality';

const isEmpty = (l: LocalityModel): boolean => l.region === '' && l.zone === '' && l.subZone === '';

/** `a/b/c` (or `a.b.c` with `sep` '.') -> a locality; undefined for ''. */
export function parseLocality(s: string | undefined, sep = '/'): LocalityModel | undefined {
  if (!s) return undefined;
  const [region = '', zone = '', subZone = ''] = s.split(sep);
  const l = { region, zone, subZone };
  return isEmpty(l) ? undefined : l;
}

/** A Node's locality from its topology labels. */
export function nodeLocality(n: Node | undefined): LocalityModel | undefined {
  const labels = n?.metadata.labels ?? {};
  const l = { region: labels[REGION_LABEL] ?? '', zone: labels[ZONE_LABEL] ?? '', subZone: labels[SUBZONE_LABEL] ?? '' };
  return isEmpty(l) ? undefined : l;
}

/** A pod's locality: its `istio-locality` label, else its Node's labels. */
export function podLocality(p: Pod, nodes: ReadonlyMap<string, Node>): LocalityModel | undefined {
  const label = parseLocality(p.metadata.labels?.[ISTIO_LOCALITY_LABEL], '.');
  if (label !== undefined) return label;
  const nodeName = p.spec?.nodeName;
  return nodeName ? nodeLocality(nodes.get(nodeName)) : undefined;
}

/** `region/zone/subzone`, as Istio prints a locality. */
export const formatLocality = (l: LocalityModel | undefined): string => (l === undefined ? '' : [l.region, l.zone, l.subZone].join('/'));
