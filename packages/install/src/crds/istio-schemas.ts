/**
 * Istio's own schemas for its kinds, as @kubernetes-models/istio ships them (generated from
 * Istio's CRDs, with `nullable` added to optional fields and descriptions dropped). The package
 * keeps each schema inside its model class and hands it to @kubernetes-models/validate's
 * `register` the first time an object of the kind is validated; reading it means listening to
 * that call once, for one probe object.
 */
import { createRequire } from 'node:module';

/** A JSON schema node as the package ships it. */
export type JsonSchema = { [k: string]: unknown };

interface ValidateModule {
  register: (id: string, schema: object) => void;
}
type ModelClass = new (data: object) => { validate(): void };

const cache = new Map<string, JsonSchema>();

/** Resolves modules as @kubernetes-models/istio's own files do, so `validate` is the instance they call. */
function modelsRequire(): NodeJS.Require {
  const here = createRequire(import.meta.url);
  return createRequire(here.resolve('@kubernetes-models/istio'));
}

/** The schema of `group/version` `kind` (the whole object: apiVersion, kind, metadata, spec, status); a copy. */
export function istioKindSchema(group: string, version: string, kind: string): JsonSchema {
  const id = `${group}.${version}.${kind}`;
  let schema = cache.get(id);
  if (!schema) {
    const req = modelsRequire();
    let Model: ModelClass | undefined;
    try {
      Model = (req(`@kubernetes-models/istio/${group}/${version}/${kind}`) as Record<string, ModelClass>)[kind];
    } catch (e) {
      throw new Error(`@kubernetes-models/istio has no ${group}/${version} ${kind}: ${(e as Error).message}`);
    }
    if (typeof Model !== 'function') throw new Error(`@kubernetes-models/istio/${group}/${version}/${kind} exports no ${kind} class`);
    const validate = req('@kubernetes-models/validate') as ValidateModule;
    const register = validate.register;
    const seen = new Map<string, object>();
    validate.register = (sid, s) => {
      seen.set(sid, s);
      register(sid, s);
    };
    try {
      new Model({ metadata: { name: 'schema-probe' } }).validate();
    } catch {
      // Only the registration matters, not whether the probe object is valid.
    } finally {
      validate.register = register;
    }
    const got = seen.get(id);
    if (!got) throw new Error(`@kubernetes-models/istio did not register a schema ${id} (its layout changed?)`);
    schema = got as JsonSchema;
    cache.set(id, schema);
  }
  return structuredClone(schema);
}

/** The schema of the kind's `spec`. */
export function istioSpecSchema(group: string, version: string, kind: string): JsonSchema {
  const spec = (istioKindSchema(group, version, kind).properties as Record<string, JsonSchema> | undefined)?.spec;
  if (!spec) throw new Error(`@kubernetes-models/istio's ${group}/${version} ${kind} schema has no spec`);
  return spec;
}
