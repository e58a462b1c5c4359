/**
 * Applies Envoy's `*_headers_to_add` / `*_headers_to_remove` to a header list, in Envoy's
 * order: the most specific level first (weighted cluster, route, virtual host, route
 * configuration), so an outer level's OVERWRITE wins.
 */
import type { HeaderValueOptionRt } from '@minimesh/config/runtime';
import { formatHeaderValue, type HeaderFormatSource } from './header-format.js';

export interface MutableHeaders {
  names: string[];
  values: string[];
}

export interface HeaderMutationLevel {
  readonly toAdd: readonly HeaderValueOptionRt[];
  readonly toRemove: readonly string[];
}

function removeAll(h: MutableHeaders, name: string): void {
  for (let i = h.names.length - 1; i >= 0; i--) {
    if (h.names[i] === name) {
      h.names.splice(i, 1);
      h.values.splice(i, 1);
    }
  }
}

function has(h: MutableHeaders, name: string): boolean {
  return h.names.includes(name);
}

/** `src`: what `%OPERATOR%` values read (a literal value needs none). */
export function applyHeaderOption(h: MutableHeaders, o: HeaderValueOptionRt, src?: HeaderFormatSource): void {
  const value = o.format === undefined ? o.value : formatHeaderValue(o.format, src);
  if (value === '' && !o.keepEmptyValue) return;
  switch (o.action) {
    case 'APPEND_IF_EXISTS_OR_ADD':
      break;
    case 'ADD_IF_ABSENT':
      if (has(h, o.name)) return;
      break;
    case 'OVERWRITE_IF_EXISTS_OR_ADD':
      removeAll(h, o.name);
      break;
    case 'OVERWRITE_IF_EXISTS':
      if (!has(h, o.name)) return;
      removeAll(h, o.name);
      break;
  }
  h.names.push(o.name);
  h.values.push(value);
}

/** Applies each level's removals then additions, levels in the order given. */
export function applyHeaderMutations(h: MutableHeaders, levels: readonly HeaderMutationLevel[], src?: HeaderFormatSource): void {
  for (const level of levels) {
    for (const name of level.toRemove) removeAll(h, name);
    for (const o of level.toAdd) applyHeaderOption(h, o, src);
  }
}

/** True when some value has `%OPERATOR%`s (the stream then hands over a HeaderFormatSource). */
export function hasFormattedValue(levels: readonly HeaderMutationLevel[]): boolean {
  for (const l of levels) for (const o of l.toAdd) if (o.format !== undefined) return true;
  return false;
}

/** True when no level changes anything (the common case: skip the work). */
export function isEmptyMutation(levels: readonly HeaderMutationLevel[]): boolean {
  for (const l of levels) if (l.toAdd.length > 0 || l.toRemove.length > 0) return false;
  return true;
}
