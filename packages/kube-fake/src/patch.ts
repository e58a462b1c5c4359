/**
 * The write verbs' merges: JSON merge patch (RFC 7386), the simplified server-side apply
 * (the applied configuration's fields win, maps merge, lists are replaced, what it does not
 * name is kept), strategic merge patch (a merge patch whose lists of named items merge by
 * name), and JSON patch (RFC 6902, through fast-json-patch).
 */
import jsonPatch from 'fast-json-patch';

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386: null deletes, objects merge, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const named = (a: Json[]): boolean => a.length > 0 && a.every((x) => isObject(x) && typeof x.name === 'string');

/** Strategic merge: as a merge patch, except lists of named objects merge item by item. */
export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k];
    if (v === null) delete out[k];
    else if (Array.isArray(v) && Array.isArray(cur) && named(v) && named(cur)) {
      const merged = cur.map((x) => {
        const p = (v as Record<string, Json>[]).find((y) => y.name === (x as Record<string, Json>).name);
        return p ? strategicMergePatch(x, p) : x;
      });
      for (const y of v as Record<string, Json>[]) if (!cur.some((x) => (x as Record<string, Json>).name === y.name)) merged.push(y);
      out[k] = merged;
    } else out[k] = strategicMergePatch(cur, v);
  }
  return out;
}

/** Server-side apply, simplified: the applied fields win (maps merge, lists replace); others are kept. */
export function applyConfiguration(target: Json, applied: Json): Json {
  if (!isObject(applied)) return structuredClone(applied);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(applied)) out[k] = isObject(v) ? applyConfiguration(out[k], v) : structuredClone(v);
  return out;
}

export class PatchError extends Error {}

/** RFC 6902; throws PatchError naming the failing operation. */
export function applyJsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations');
  try {
    return jsonPatch.applyPatch(structuredClone(target), ops as jsonPatch.Operation[], true, false).newDocument;
  } catch (e) {
    throw new PatchError(`the JSON patch failed: ${(e as Error).message.split('\n')[0]}`);
  }
}
