/**
 * The custom resources of Istio's API that the Base component defines: group, names, the
 * versions served and the one stored (facts: install-and-analyze §2.1; the storage version is
 * the newest Istio stores in), and where Istio's schema for the kind is read from.
 */

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'date';
  readonly jsonPath: string;
}

export interface IstioCrdKind {
  readonly group: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  /** Every version served, oldest first. */
  readonly versions: readonly string[];
  readonly storageVersion: string;
  /** The @kubernetes-models/istio module whose schema the kind's `spec` schema is made from. */
  readonly schemaVersion: string;
  readonly printerColumns: readonly PrinterColumn[];
}

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const col = (name: string, field: string): PrinterColumn => ({ name, type: 'string', jsonPath: `.spec.${field}` });

const NETWORKING = 'networking.istio.io';
const SECURITY = 'security.istio.io';
const NET_VERSIONS = ['v1alpha3', 'v1beta1', 'v1'];
const SEC_VERSIONS = ['v1beta1', 'v1'];

const kind = (
  group: string,
  k: string,
  shortNames: string[],
  versions: string[],
  storageVersion: string,
  schemaVersion: string,
  printerColumns: PrinterColumn[] = [AGE],
  plural = `${k.toLowerCase()}s`,
): IstioCrdKind => ({ group, kind: k, plural, singular: k.toLowerCase(), shortNames, versions, storageVersion, schemaVersion, printerColumns });

export const ISTIO_CRD_KINDS: readonly IstioCrdKind[] = [
  kind('extensions.istio.io', 'WasmPlugin', [], ['v1alpha1'], 'v1alpha1', 'v1alpha1'),
  kind(NETWORKING, 'DestinationRule', ['dr'], NET_VERSIONS, 'v1', 'v1beta1', [col('Host', 'host'), AGE]),
  kind(NETWORKING, 'EnvoyFilter', [], ['v1alpha3'], 'v1alpha3', 'v1alpha3', []),
  kind(NETWORKING, 'Gateway', ['gw'], NET_VERSIONS, 'v1', 'v1beta1', []),
  kind(NETWORKING, 'ProxyConfig', [], ['v1beta1'], 'v1beta1', 'v1beta1', []),
  kind(NETWORKING, 'ServiceEntry', ['se'], NET_VERSIONS, 'v1', 'v1beta1', [col('Hosts', 'hosts'), col('Location', 'location'), col('Resolution', 'resolution'), AGE], 'serviceentries'),
  kind(NETWORKING, 'Sidecar', [], NET_VERSIONS, 'v1', 'v1beta1', []),
  kind(NETWORKING, 'VirtualService', ['vs'], NET_VERSIONS, 'v1', 'v1beta1', [col('Gateways', 'gateways'), col('Hosts', 'hosts'), AGE]),
  kind(NETWORKING, 'WorkloadEntry', ['we'], NET_VERSIONS, 'v1', 'v1beta1', [AGE, col('Address', 'address')], 'workloadentries'),
  kind(NETWORKING, 'WorkloadGroup', ['wg'], NET_VERSIONS, 'v1', 'v1beta1'),
  kind(SECURITY, 'AuthorizationPolicy', ['ap'], SEC_VERSIONS, 'v1', 'v1beta1', [col('Action', 'action'), AGE], 'authorizationpolicies'),
  kind(SECURITY, 'PeerAuthentication', ['pa'], SEC_VERSIONS, 'v1', 'v1beta1', [col('Mode', 'mtls.mode'), AGE]),
  kind(SECURITY, 'RequestAuthentication', ['ra'], SEC_VERSIONS, 'v1', 'v1beta1', []),
  kind('telemetry.istio.io', 'Telemetry', ['telemetry'], ['v1alpha1', 'v1'], 'v1alpha1', 'v1alpha1', [AGE], 'telemetries'),
];

/** `virtualservices.networking.istio.io`. */
export const crdName = (k: IstioCrdKind): string => `${k.plural}.${k.group}`;

/** `networking-istio-io` for `networking.istio.io`: the CRD's own category besides `istio-io`. */
export const groupCategory = (group: string): string => group.replace(/\./g, '-');
