/**
 * Names of IstioOperator fields that Istio has, so that a key minimesh does not act on is
 * told apart from a misspelt one: the first is ignored with a warning, the second refused.
 */

/** Top-level fields of `spec` (IstioOperatorSpec). */
export const SPEC_FIELDS: ReadonlySet<string> = new Set([
  'profile',
  'installPackagePath',
  'hub',
  'tag',
  'namespace',
  'revision',
  'compatibilityVersion',
  'meshConfig',
  'components',
  'values',
  'unvalidatedValues',
]);

/** Top-level fields of MeshConfig (`spec.meshConfig`). */
export const MESH_CONFIG_FIELDS: ReadonlySet<string> = new Set([
  'proxyListenPort',
  'proxyInboundListenPort',
  'proxyHttpPort',
  'connectTimeout',
  'protocolDetectionTimeout',
  'tcpKeepalive',
  'ingressClass',
  'ingressService',
  'ingressControllerMode',
  'ingressSelector',
  'enableTracing',
  'accessLogFile',
  'accessLogFormat',
  'accessLogEncoding',
  'enableEnvoyAccessLogService',
  'disableEnvoyListenerLog',
  'defaultConfig',
  'outboundTrafficPolicy',
  'inboundTrafficPolicy',
  'configSources',
  'enableAutoMtls',
  'trustDomain',
  'trustDomainAliases',
  'caCertificates',
  'defaultServiceExportTo',
  'defaultVirtualServiceExportTo',
  'defaultDestinationRuleExportTo',
  'rootNamespace',
  'localityLbSetting',
  'dnsRefreshRate',
  'h2UpgradePolicy',
  'inboundClusterStatName',
  'outboundClusterStatName',
  'certificates',
  'serviceSettings',
  'enablePrometheusMerge',
  'verifyCertificateAtClient',
  'ca',
  'extensionProviders',
  'defaultProviders',
  'discoverySelectors',
  'pathNormalization',
  'defaultHttpRetryPolicy',
  'meshMTLS',
  'tlsDefaults',
  'serviceScopeConfigs',
]);

/** Top-level sections of the charts' values (`spec.values`). */
export const VALUES_SECTIONS: ReadonlySet<string> = new Set([
  'global',
  'pilot',
  'gateways',
  'sidecarInjectorWebhook',
  'istiodRemote',
  'telemetry',
  'revisionTags',
  'meshConfig',
  'base',
  'cni',
  'istio_cni',
  'ztunnel',
  'defaultRevision',
  'profile',
  'ownerName',
  'revision',
  'experimental',
  'gatewayClasses',
  'platform',
]);

/** Components minimesh renders, and the ones Istio has that minimesh does not. */
export const RENDERED_COMPONENTS: ReadonlySet<string> = new Set(['base', 'pilot', 'ingressGateways', 'egressGateways']);
export const UNSUPPORTED_COMPONENTS: ReadonlySet<string> = new Set(['cni', 'ztunnel', 'istiodRemote']);
