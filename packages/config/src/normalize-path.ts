/**
 * Envoy's `normalize_path` (the connection manager's, which Istio's default path normalization
 * `BASE` turns on): the path part of `:path` is canonicalized as RFC 3986 says, the way
 * Chromium's URL canonicalizer does it, which Envoy uses:
 *   - a percent-encoded unreserved character (ALPHA, DIGIT, `-`, `.`, `_`, `~`) is decoded,
 *     so `%2e` and `%2E` are dots; other escapes are kept as sent (`%2F` stays: Envoy's default
 *     `path_with_escaped_slashes_action` keeps escaped slashes unchanged);
 *   - a backslash is a slash;
 *   - `.` and `..` segments are removed (`/a/../b` -> `/b`, never above the root).
 * The query is left alone. A path not starting with `/` (`*`, absolute form) is returned as is.
 */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

function decodeUnreserved(p: string): string {
  if (!p.includes('%') && !p.includes('\\')) return p;
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      out += '/';
      continue;
    }
    if (c === '%' && i + 2 < p.length && /^[0-9A-Fa-f]{2}$/.test(p.slice(i + 1, i + 3))) {
      const ch = String.fromCharCode(parseInt(p.slice(i + 1, i + 3), 16));
      if (UNRESERVED.test(ch)) {
        out += ch;
        i += 2;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** RFC 3986 §5.2.4 on an absolute path, by segments. */
function removeDotSegments(path: string): string {
  const segs = path.split('/').slice(1);
  const out: string[] = [];
  segs.forEach((s, i) => {
    const last = i === segs.length - 1;
    if (s === '.') {
      if (last) out.push('');
      return;
    }
    if (s === '..') {
      out.pop();
      if (last) out.push('');
      return;
    }
    out.push(s);
  });
  return `/${out.join('/')}`;
}

/** `:path` (path and query) -> the normalized `:path`. */
export function normalizePath(pathAndQuery: string): string {
  if (!pathAndQuery.startsWith('/') && !pathAndQuery.startsWith('\\')) return pathAndQuery;
  const q = pathAndQuery.indexOf('?');
  const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const query = q < 0 ? '' : pathAndQuery.slice(q);
  const decoded = decodeUnreserved(path);
  const normalized = decoded.includes('.') ? removeDotSegments(decoded) : decoded;
  return normalized + query;
}
