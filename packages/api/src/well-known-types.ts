/**
 * google.protobuf.Struct and Any on their own, from protobufjs's bundled definitions: what the
 * proxy needs on its request path (Istio's peer metadata exchange) without holding the Root of
 * every Envoy type (protos.ts), which a proxy on a static bootstrap can let go after startup.
 */
import protobuf from 'protobufjs';

let root: protobuf.Root | undefined;

function wellKnownRoot(): protobuf.Root {
  if (root !== undefined) return root;
  const r = new protobuf.Root();
  for (const file of ['google/protobuf/struct.proto', 'google/protobuf/any.proto']) {
    const def = protobuf.common.get(file) as protobuf.INamespace | null;
    if (def?.nested === undefined) throw new Error(`protobufjs has no bundled ${file}`);
    r.addJSON(def.nested);
  }
  r.resolveAll();
  root = r;
  return r;
}

/** google.protobuf.Struct */
export function structType(): protobuf.Type {
  return wellKnownRoot().lookupType('google.protobuf.Struct');
}

/** google.protobuf.Any */
export function anyType(): protobuf.Type {
  return wellKnownRoot().lookupType('google.protobuf.Any');
}
