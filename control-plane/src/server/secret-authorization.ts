/**
 * Who may fetch a Secret over SDS (the rule istiod applies to credentialName secrets): a
 * gateway proxy (`router~...`), for a `kubernetes://[NS/]NAME` secret of its own namespace.
 * The snapshot only ever holds the secrets of the proxy's own gateways; this refuses, with a
 * line naming why, any other name a proxy asks for.
 */
import { SDS, type ProxySyncStatus, type ResourceRefusal, type XdsTypeUrl } from '@minimesh/xds';
import { parseNodeId } from '../model/proxy-identity.js';
import { parseCredentialResourceName } from '../generate/gateway-credentials.js';

/** Why `name` is refused to the proxy `nodeId`; undefined when it may have it. */
export function secretRefusalReason(nodeId: string, name: string): string | undefined {
  let node: ReturnType<typeof parseNodeId>;
  try {
    node = parseNodeId(nodeId);
  } catch (e) {
    return (e as Error).message;
  }
  const ref = parseCredentialResourceName(name, node.namespace);
  if (ref === undefined) return `${JSON.stringify(name)} is not a credential secret name (kubernetes://[NAMESPACE/]NAME)`;
  if (node.type !== 'router') return `only gateway proxies read credential secrets (this proxy is a ${node.type})`;
  if (ref.namespace !== node.namespace) return `the Secret is in namespace ${ref.namespace}, and a gateway proxy may read the Secrets of its own namespace (${node.namespace}) only`;
  return undefined;
}

/** The xDS server's refusal hook: SDS names only, each refusal printed once per proxy and name. */
export function secretRefusal(print: (line: string) => void): ResourceRefusal {
  const told = new Set<string>();
  return (node: ProxySyncStatus, typeUrl: XdsTypeUrl, name: string) => {
    if (typeUrl !== SDS) return undefined;
    const why = secretRefusalReason(node.nodeId, name);
    const key = `${node.nodeId}\n${name}`;
    if (why !== undefined && !told.has(key)) {
      told.add(key);
      print(`Warning (proxy ${node.nodeId}) SDS secret ${name} refused: ${why}`);
    }
    return why;
  };
}
