/**
 * The pod's labels as the injector hands them to the proxy: the downward-API file
 * `/etc/istio/pod/labels` (volume istio-podinfo), one `key="value"` per line, values quoted
 * as Go quotes them. Istio's agent reads it into the node metadata's LABELS, which the
 * proxy's metrics and its peers read (app, version, canonical name and revision).
 */
import { readFileSync } from 'node:fs';
import { log } from './log.js';

export const POD_LABELS_FILE = '/etc/istio/pod/labels';

/** The labels in `file`; undefined when there is no such file (not in a pod). */
export function readPodLabels(file = POD_LABELS_FILE): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const labels: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const i = line.indexOf('=');
    const key = i > 0 ? line.slice(0, i).trim() : '';
    const raw = line.slice(i + 1).trim();
    if (key === '' || !raw.startsWith('"')) {
      log.warn({ file, line }, 'pod labels: not key="value", ignored');
      continue;
    }
    try {
      labels[key] = JSON.parse(raw) as string;
    } catch {
      labels[key] = raw.slice(1, -1);
    }
  }
  return labels;
}
