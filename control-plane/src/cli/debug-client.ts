/** GETs JSON from the control plane's debug port or a proxy's admin port. */
import { PORTS } from '@minimesh/mesh';

export const DEFAULT_CONTROL_PLANE = `127.0.0.1:${PORTS.controlPlaneDebug}`;

/** How proxy-status and proxy-config find the control plane, for their usage text. */
export const CONTROL_PLANE_LOOKUP = `
The control plane: --control-plane HOST:PORT when given; the cluster when --kubeconfig,
--context or -i is given; else the one answering on ${DEFAULT_CONTROL_PLANE}; else, with a
kubeconfig ($KUBECONFIG or ~/.kube/config), the cluster: port ${PORTS.controlPlaneDebug} of the first Running
pod labelled app=istiod in istio-system, port-forwarded through the API server as istioctl does.
`;

export async function getJson(hostPort: string, pathAndQuery: string, timeoutMs = 5000): Promise<unknown> {
  const url = `http://${hostPort}${pathAndQuery}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new Error(`cannot reach ${url}: ${cause}`);
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}: ${text.trim()}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${url}: not JSON`);
  }
}
