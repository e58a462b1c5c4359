/**
 * Analysis messages: the catalogue of codes minimesh's analyzers report (Istio's codes, levels
 * and texts, so what users learned carries over) and the message record each analyzer returns.
 */

export type Level = 'Error' | 'Warning' | 'Info';

/** Higher is worse. */
export const LEVEL_RANK: Readonly<Record<Level, number>> = { Error: 3, Warning: 2, Info: 1 };

/** `info`, `WARNING`, ... -> the level, or undefined. */
export function parseLevel(s: string): Level | undefined {
  const l = s.toLowerCase();
  return l === 'error' ? 'Error' : l === 'warning' ? 'Warning' : l === 'info' ? 'Info' : undefined;
}

/** The resource a message is about, and where it was read when it came from a file. */
export interface MessageOrigin {
  readonly kind: string;
  /** '' for cluster-scoped kinds (Namespace). */
  readonly namespace: string;
  readonly name: string;
  readonly file?: string;
  /** 1-based line of the resource's first line in `file`. */
  readonly line?: number;
  /** 1-based line of its `metadata.name` in `file` (where istioctl points for messages about the resource as a whole, e.g. IST0109). */
  readonly nameLine?: number;
}

export interface AnalysisMessage {
  readonly code: string;
  readonly level: Level;
  readonly message: string;
  readonly origin: MessageOrigin;
}

export interface MessageType {
  readonly code: string;
  readonly name: string;
  readonly level: Level;
}

export const MESSAGE_TYPES = {
  ReferencedResourceNotFound: { code: 'IST0101', name: 'ReferencedResourceNotFound', level: 'Error' },
  NamespaceNotInjected: { code: 'IST0102', name: 'NamespaceNotInjected', level: 'Info' },
  PodMissingProxy: { code: 'IST0103', name: 'PodMissingProxy', level: 'Warning' },
  SchemaValidationError: { code: 'IST0106', name: 'SchemaValidationError', level: 'Error' },
  UnknownAnnotation: { code: 'IST0108', name: 'UnknownAnnotation', level: 'Warning' },
  ConflictingMeshGatewayVirtualServiceHosts: { code: 'IST0109', name: 'ConflictingMeshGatewayVirtualServiceHosts', level: 'Error' },
  ConflictingSidecarWorkloadSelectors: { code: 'IST0110', name: 'ConflictingSidecarWorkloadSelectors', level: 'Error' },
  MultipleSidecarsWithoutWorkloadSelectors: { code: 'IST0111', name: 'MultipleSidecarsWithoutWorkloadSelectors', level: 'Error' },
  VirtualServiceDestinationPortSelectorRequired: { code: 'IST0112', name: 'VirtualServiceDestinationPortSelectorRequired', level: 'Error' },
  PortNameIsNotUnderNamingConvention: { code: 'IST0118', name: 'PortNameIsNotUnderNamingConvention', level: 'Info' },
  NoServerCertificateVerificationDestinationLevel: { code: 'IST0128', name: 'NoServerCertificateVerificationDestinationLevel', level: 'Warning' },
  NoServerCertificateVerificationPortLevel: { code: 'IST0129', name: 'NoServerCertificateVerificationPortLevel', level: 'Warning' },
  VirtualServiceHostNotFoundInGateway: { code: 'IST0132', name: 'VirtualServiceHostNotFoundInGateway', level: 'Warning' },
  InvalidApplicationUID: { code: 'IST0144', name: 'InvalidApplicationUID', level: 'Warning' },
  ConflictingGateways: { code: 'IST0145', name: 'ConflictingGateways', level: 'Error' },
  GatewayPortNotDefinedOnService: { code: 'IST0162', name: 'GatewayPortNotDefinedOnService', level: 'Warning' },
  DestinationRuleSubsetNotSelectPods: { code: 'IST0173', name: 'DestinationRuleSubsetNotSelectPods', level: 'Error' },
} as const satisfies Record<string, MessageType>;

/** Every code minimesh can report (for `--suppress` checks). */
export const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(MESSAGE_TYPES).map((t) => t.code));

const make = (t: MessageType, origin: MessageOrigin, message: string): AnalysisMessage => ({ code: t.code, level: t.level, message, origin });

/** Go's `%q` of a plain string. */
const quote = (s: string): string => JSON.stringify(s);
/** Go's `%v` of a slice: `[a b c]`. */
const list = (xs: readonly (string | number)[]): string => `[${xs.join(' ')}]`;

export const referencedResourceNotFound = (o: MessageOrigin, what: string, value: string): AnalysisMessage =>
  make(MESSAGE_TYPES.ReferencedResourceNotFound, o, `Referenced ${what} not found: ${quote(value)}`);

export const namespaceNotInjected = (o: MessageOrigin, ns: string): AnalysisMessage =>
  make(
    MESSAGE_TYPES.NamespaceNotInjected,
    o,
    `The namespace is not enabled for Istio injection. Run 'kubectl label namespace ${ns} istio-injection=enabled' to enable it, or 'kubectl label namespace ${ns} istio-injection=disabled' to explicitly mark it as not needing injection.`,
  );

export const podMissingProxy = (o: MessageOrigin): AnalysisMessage =>
  make(MESSAGE_TYPES.PodMissingProxy, o, `The pod ${o.namespace}/${o.name} is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.`);

export const schemaValidationError = (o: MessageOrigin, error: string): AnalysisMessage => make(MESSAGE_TYPES.SchemaValidationError, o, `Schema validation error: ${error}`);

export const unknownAnnotation = (o: MessageOrigin, annotation: string): AnalysisMessage => make(MESSAGE_TYPES.UnknownAnnotation, o, `Unknown annotation: ${annotation}`);

export const conflictingMeshGatewayVirtualServiceHosts = (o: MessageOrigin, virtualServices: string, host: string): AnalysisMessage =>
  make(
    MESSAGE_TYPES.ConflictingMeshGatewayVirtualServiceHosts,
    o,
    `The VirtualServices ${virtualServices} associated with mesh gateway define the same host ${host} which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.`,
  );

export const conflictingSidecarWorkloadSelectors = (o: MessageOrigin, sidecars: readonly string[], namespace: string, pod: string): AnalysisMessage =>
  make(MESSAGE_TYPES.ConflictingSidecarWorkloadSelectors, o, `The Sidecars ${list(sidecars)} in namespace ${quote(namespace)} select the same workload pod ${quote(pod)}, which can lead to undefined behavior.`);

export const multipleSidecarsWithoutWorkloadSelectors = (o: MessageOrigin, sidecars: readonly string[], namespace: string): AnalysisMessage =>
  make(MESSAGE_TYPES.MultipleSidecarsWithoutWorkloadSelectors, o, `The Sidecars ${list(sidecars)} in namespace ${quote(namespace)} have no workload selector, which can lead to undefined behavior.`);

export const virtualServiceDestinationPortSelectorRequired = (o: MessageOrigin, host: string, ports: readonly number[]): AnalysisMessage =>
  make(
    MESSAGE_TYPES.VirtualServiceDestinationPortSelectorRequired,
    o,
    `This VirtualService routes to a service ${quote(host)} that exposes multiple ports ${list(ports)}. Specifying a port in the destination is required to disambiguate.`,
  );

export const portNameIsNotUnderNamingConvention = (o: MessageOrigin, name: string, port: number, targetPort: string): AnalysisMessage =>
  make(MESSAGE_TYPES.PortNameIsNotUnderNamingConvention, o, `Port name ${name} (port: ${port}, targetPort: ${targetPort}) doesn't follow the naming convention of Istio port.`);

/** `destinationRule` is `namespace/name`; `mode` SIMPLE or MUTUAL. */
export const noServerCertificateVerificationDestinationLevel = (o: MessageOrigin, destinationRule: string, namespace: string, mode: string, host: string): AnalysisMessage =>
  make(
    MESSAGE_TYPES.NoServerCertificateVerificationDestinationLevel,
    o,
    `DestinationRule ${destinationRule} in namespace ${namespace} has TLS mode set to ${mode} but no caCertificates are set to validate server identity for host: ${host}`,
  );

/** `port` as the port selector prints in text form: `number:443`. */
export const noServerCertificateVerificationPortLevel = (o: MessageOrigin, destinationRule: string, namespace: string, mode: string, host: string, port: string): AnalysisMessage =>
  make(
    MESSAGE_TYPES.NoServerCertificateVerificationPortLevel,
    o,
    `DestinationRule ${destinationRule} in namespace ${namespace} has TLS mode set to ${mode} but no caCertificates are set to validate server identity for host: ${host} at port ${port}`,
  );

export const virtualServiceHostNotFoundInGateway = (o: MessageOrigin, hosts: readonly string[], virtualService: string, gateway: string): AnalysisMessage =>
  make(MESSAGE_TYPES.VirtualServiceHostNotFoundInGateway, o, `one or more host ${list(hosts)} defined in VirtualService ${virtualService} not found in Gateway ${gateway}.`);

export const invalidApplicationUID = (o: MessageOrigin): AnalysisMessage => make(MESSAGE_TYPES.InvalidApplicationUID, o, 'User ID (UID) 1337 is reserved for the sidecar proxy.');

/** `gateways`: the other Gateways, `ns/name` joined by commas; `hosts`: this server's hosts joined by commas. */
export const conflictingGateways = (o: MessageOrigin, gateways: string, selector: string, port: string, hosts: string): AnalysisMessage =>
  make(MESSAGE_TYPES.ConflictingGateways, o, `Conflict with gateways ${gateways} (workload selector ${selector}, port ${port}, hosts ${hosts}).`);

export const gatewayPortNotDefinedOnService = (o: MessageOrigin, port: number, selector: string): AnalysisMessage =>
  make(
    MESSAGE_TYPES.GatewayPortNotDefinedOnService,
    o,
    `The gateway is listening on a target port (port ${port}) that is not defined in the Service associated with its workload instances (Pod selector ${selector}). If you need to access the gateway port through the gateway Service, it will not be available.`,
  );

export const destinationRuleSubsetNotSelectPods = (o: MessageOrigin, subset: string): AnalysisMessage =>
  make(MESSAGE_TYPES.DestinationRuleSubsetNotSelectPods, o, `The Subset ${subset} defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).`);
