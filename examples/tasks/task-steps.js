// The steps of a task in the local mesh: `kubectl apply` of a file's documents onto one YAML
// file of the control plane's folder (replacing those of the same kind, namespace and name),
// polling with a deadline, and counting replies over many tries. Used by the tasks' run.js
// and their end-to-end tests.
import fs from 'node:fs';
import YAML from 'yaml';

/** Runs `once` n times, one after the other, and counts each distinct reply ('' when the connection closed empty). */
export async function countReplies(once, n) {
  const counts = {};
  for (let i = 0; i < n; i++) {
    let reply;
    try {
      reply = await once();
    } catch (e) {
      reply = `error: ${e.message}`;
    }
    counts[reply] = (counts[reply] ?? 0) + 1;
  }
  return counts;
}

/** Polls `cond` (errors count as not yet) every 100 ms until true, or throws after `ms`. */
export async function waitFor(what, cond, ms) {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    try {
      if (await cond()) return;
    } catch (e) {
      last = ` (${e.message})`;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${ms} ms${last}`);
}

const keyOf = (d) => `${d.kind}/${d.metadata?.namespace ?? 'default'}/${d.metadata?.name}`;

/** `kubectl apply`: the documents of `text` replace those with the same kind, namespace and name in `file`, others are added. */
export function applyManifests(file, text) {
  const docs = fs.existsSync(file) ? YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJSON()).filter(Boolean) : [];
  for (const d of YAML.parseAllDocuments(text).map((x) => x.toJSON()).filter(Boolean)) {
    const i = docs.findIndex((x) => keyOf(x) === keyOf(d));
    if (i >= 0) docs[i] = d;
    else docs.push(d);
  }
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, docs.map((d) => YAML.stringify(d)).join('---\n'));
  fs.renameSync(tmp, file);
}
