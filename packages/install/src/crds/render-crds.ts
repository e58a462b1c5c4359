/**
 * The CustomResourceDefinitions of Istio's API (Base component): one per kind, every version
 * served with Istio's schema for `spec` (made structural) and an open `status` subresource.
 */
import type { ICustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import type { IJSONSchemaProps as JSONSchemaProps } from 'kubernetes-models/apiextensions.k8s.io/v1/JSONSchemaProps';
import { asKubeObject, type KubeObject } from '../types.js';
import { ISTIO_CRD_KINDS, crdName, groupCategory, type IstioCrdKind } from './istio-crd-kinds.js';
import { istioSpecSchema } from './istio-schemas.js';
import { toStructuralSchema } from './structural-schema.js';

/** `istio-io`: the category every one of Istio's kinds is in (`kubectl get istio-io`). */
export const ISTIO_CATEGORY = 'istio-io';

const structuralCache = new Map<string, JSONSchemaProps>();

/** The structural schema of a kind's whole object (spec from Istio's schema, status open). */
export function crdObjectSchema(k: IstioCrdKind): JSONSchemaProps {
  let spec = structuralCache.get(crdName(k));
  if (!spec) {
    spec = toStructuralSchema(istioSpecSchema(k.group, k.schemaVersion, k.kind), `${k.kind}.spec`) as JSONSchemaProps;
    structuralCache.set(crdName(k), spec);
  }
  return {
    type: 'object',
    properties: {
      spec: structuredClone(spec),
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
  };
}

export function renderCrd(k: IstioCrdKind): KubeObject {
  const crd: ICustomResourceDefinition = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName(k) },
    spec: {
      group: k.group,
      names: {
        categories: [ISTIO_CATEGORY, groupCategory(k.group)],
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.singular,
        ...(k.shortNames.length > 0 ? { shortNames: [...k.shortNames] } : {}),
      },
      scope: 'Namespaced',
      versions: k.versions.map((name) => ({
        name,
        served: true,
        storage: name === k.storageVersion,
        schema: { openAPIV3Schema: crdObjectSchema(k) },
        subresources: { status: {} },
        ...(k.printerColumns.length > 0 ? { additionalPrinterColumns: k.printerColumns.map((c) => ({ ...c })) } : {}),
      })),
    },
  };
  return asKubeObject(crd);
}

/** Every CRD, in the order of ISTIO_CRD_KINDS (by group, then kind). */
export function renderCrds(): KubeObject[] {
  return ISTIO_CRD_KINDS.map(renderCrd);
}
