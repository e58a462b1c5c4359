/** Every profile rendered, for tests that look at all of them. */
import { PROFILE_NAMES, profileValues, renderManifest, manifestObjects, type KubeObject, type ProfileName, type RenderedComponent } from '../../src/index.js';

export interface RenderedProfile {
  readonly profile: ProfileName;
  readonly components: RenderedComponent[];
  readonly objects: KubeObject[];
}

export function renderAllProfiles(): RenderedProfile[] {
  return PROFILE_NAMES.map((profile) => {
    const components = renderManifest(profileValues(profile));
    return { profile, components, objects: manifestObjects(components) };
  });
}

/** The one object of `kind` named `name`; throws when absent, so a test fails naming it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read deep into objects
export function find(objects: readonly KubeObject[], kind: string, name: string): any {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}
