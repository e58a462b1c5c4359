/**
 * Names an installed minimesh shares with Istio's: the namespace, the control plane's
 * Deployment and Service, the webhooks, the CA's Secret and the root ConfigMap. The
 * manifests, the control plane (which patches and publishes some of them), the injector and
 * the CLI all read them from here.
 */
import { MINIMESH_VERSION } from './version.js';

/** The namespace `minimesh install` creates and the control plane runs in (Istio's root namespace). */
export const ISTIO_NAMESPACE = 'istio-system';
/** The revision every object is labelled with (`istio.io/rev`). */
export const DEFAULT_REVISION = 'default';
/** The one image serving every role, as `minikube image build -t minimesh:<version> .` tags it. */
export const MINIMESH_IMAGE = `minimesh:${MINIMESH_VERSION}`;
export const MINIMESH_IMAGE_PULL_POLICY = 'IfNotPresent';

/** The control plane's Deployment, Service and ServiceAccount (istiod's names). */
export const ISTIOD_NAME = 'istiod';
/** The hosts of the control plane's serving certificate (istiod's `getDNSNames`). */
export const istiodDnsNames = (ns: string = ISTIO_NAMESPACE): string[] => [`istiod.${ns}.svc`, `istiod-remote.${ns}.svc`, `istio-pilot.${ns}.svc`];
/** Where injected sidecars and gateways find the control plane: xDS over TLS. */
export const istiodSecureXdsAddress = (ns: string = ISTIO_NAMESPACE): string => `istiod.${ns}.svc:15012`;
/** The container port behind the Service's 443: the webhooks (/inject, /validate). */
export const WEBHOOK_SERVICE_PORT = 443;
/** The readiness port of the control plane (`GET /ready`), as istiod's http-debug port. */
export const CONTROL_PLANE_READY_PORT = 8080;

/** The CA: a self-signed root in this Secret of the control plane's namespace. */
export const CA_SECRET_NAME = 'istio-ca-secret';
export const CA_SECRET_TYPE = 'istio.io/ca-root';
export const CA_SECRET_KEYS = { cert: 'ca-cert.pem', key: 'ca-key.pem', root: 'root-cert.pem', chain: 'cert-chain.pem', workloadKey: 'key.pem' } as const;
/** The root, published in every namespace, mounted by sidecars and gateways. */
export const ROOT_CERT_CONFIGMAP = 'istio-ca-root-cert';
export const ROOT_CERT_KEY = 'root-cert.pem';
/** Where an injected sidecar or a gateway mounts that ConfigMap (volume `istiod-ca-cert`). */
export const ROOT_CERT_VOLUME = 'istiod-ca-cert';
export const ROOT_CERT_MOUNT_PATH = '/var/run/secrets/istio';
/** The pod's projected service-account token for the CA (Istio's `istio-token` volume). */
export const ISTIO_TOKEN_VOLUME = 'istio-token';
export const ISTIO_TOKEN_MOUNT_PATH = '/var/run/secrets/tokens';
export const ISTIO_TOKEN_AUDIENCE = 'istio-ca';
export const ISTIO_TOKEN_EXPIRATION_SECONDS = 43200;

/** The webhooks (facts: install-and-analyze §2.3-2.5). */
export const INJECTOR_WEBHOOK_CONFIG = 'istio-sidecar-injector';
export const REVISION_TAG_WEBHOOK_CONFIG = 'istio-revision-tag-default';
export const VALIDATOR_WEBHOOK_CONFIG = `istio-validator-${ISTIO_NAMESPACE}`;
export const DEFAULT_VALIDATOR_WEBHOOK_CONFIG = 'istiod-default-validator';
/** Webhooks whose name ends so get the caBundle patched in. */
export const INJECTOR_WEBHOOK_SUFFIX = 'sidecar-injector.istio.io';
export const INJECT_PATH = '/inject';
export const VALIDATE_PATH = '/validate';
/** The annotation on the deliberately invalid Gateway the control plane dry-runs before it sets `failurePolicy: Fail`. */
export const ALWAYS_REJECT_ANNOTATION = 'internal.istio.io/webhook-always-reject';

/** The ConfigMaps the control plane reads: mesh config (`mesh`) and the injector's (`values`, `config`). */
export const MESH_CONFIGMAP = 'istio';
export const INJECTOR_CONFIGMAP = 'istio-sidecar-injector';
/** ConfigMap `istio` as the control plane's pod mounts it (volume `config-volume`), and the file it reads. */
export const MESH_CONFIG_VOLUME = 'config-volume';
export const MESH_CONFIG_MOUNT_PATH = '/etc/istio/config';
export const MESH_CONFIG_KEY = 'mesh';
export const MESH_CONFIG_FILE = `${MESH_CONFIG_MOUNT_PATH}/${MESH_CONFIG_KEY}`;
/** The control plane's pods, as istioctl finds them to port-forward. */
export const ISTIOD_POD_SELECTOR = 'app=istiod';

/** Labels istioctl stamps on every object it applies. */
export const OPERATOR_LABELS = {
  managed: 'operator.istio.io/managed',
  version: 'operator.istio.io/version',
  component: 'operator.istio.io/component',
  rev: 'istio.io/rev',
} as const;
/** The field manager of server-side apply. */
export const INSTALL_FIELD_MANAGER = 'istio-operator';
