/** HeaderValueOption lists (`*_headers_to_add`) and header removal lists. */
import type { HeaderValueOption } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import type { HeaderAppendAction, HeaderValueOptionRt } from './runtime.js';
import { compileHeaderFormat } from './compile-header-format.js';

const VALID_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

export function compileHeadersToAdd(
  list: readonly HeaderValueOption[] | undefined,
  path: string,
  errors: Errors,
): HeaderValueOptionRt[] {
  const out: HeaderValueOptionRt[] = [];
  (list ?? []).forEach((h, i) => {
    const p = `${path}[${i}]`;
    allowOnly(h, p, ['header', 'append', 'append_action', 'keep_empty_value'], errors);
    const hv = h.header;
    if (!hv) {
      errors.add(join(p, 'header'), 'header is required');
      return;
    }
    allowOnly(hv, join(p, 'header'), ['key', 'value'], errors, [], { raw_value: 'raw_value is not supported by minimesh; use value' });
    const name = (hv.key ?? '').toLowerCase();
    if (name.startsWith(':') || name === 'host') {
      errors.add(join(p, 'header.key'), `${name} cannot be modified with headers_to_add (use host rewrite)`);
      return;
    }
    if (!name || !VALID_NAME.test(name)) {
      errors.add(join(p, 'header.key'), `invalid header name ${JSON.stringify(hv.key ?? '')}`);
      return;
    }
    if (/[\r\n\0]/.test(hv.value ?? '')) {
      errors.add(join(p, 'header.value'), 'header value must not contain CR, LF or NUL');
      return;
    }
    let action: HeaderAppendAction = (h.append_action as HeaderAppendAction | undefined) ?? 'APPEND_IF_EXISTS_OR_ADD';
    if (h.append !== undefined && h.append !== null) {
      if (h.append_action !== undefined && h.append_action !== 'APPEND_IF_EXISTS_OR_ADD') {
        errors.add(join(p, 'append'), 'append and append_action cannot both be set');
      }
      action = h.append.value === false ? 'OVERWRITE_IF_EXISTS_OR_ADD' : 'APPEND_IF_EXISTS_OR_ADD';
    }
    const { value, format } = compileHeaderFormat(hv.value ?? '', join(p, 'header.value'), errors);
    out.push({ name, value, action, keepEmptyValue: h.keep_empty_value === true, ...(format !== undefined ? { format } : {}) });
  });
  return out;
}

export function compileHeadersToRemove(list: readonly string[] | undefined, path: string, errors: Errors): string[] {
  const out: string[] = [];
  (list ?? []).forEach((n, i) => {
    const name = n.toLowerCase();
    if (!name || !VALID_NAME.test(name)) errors.add(`${path}[${i}]`, `invalid header name ${JSON.stringify(n)}`);
    else if (name === 'host') errors.add(`${path}[${i}]`, 'host cannot be removed');
    else out.push(name);
  });
  return out;
}

interface WithHeaderMutations {
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
}

export interface HeaderMutationsRt {
  readonly requestHeadersToAdd: readonly HeaderValueOptionRt[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOptionRt[];
  readonly responseHeadersToRemove: readonly string[];
}

/** The four header lists of a RouteConfiguration / VirtualHost / Route / ClusterWeight. */
export function compileHeaderMutations(o: WithHeaderMutations, path: string, errors: Errors): HeaderMutationsRt {
  return {
    requestHeadersToAdd: compileHeadersToAdd(o.request_headers_to_add, join(path, 'request_headers_to_add'), errors),
    requestHeadersToRemove: compileHeadersToRemove(o.request_headers_to_remove, join(path, 'request_headers_to_remove'), errors),
    responseHeadersToAdd: compileHeadersToAdd(o.response_headers_to_add, join(path, 'response_headers_to_add'), errors),
    responseHeadersToRemove: compileHeadersToRemove(o.response_headers_to_remove, join(path, 'response_headers_to_remove'), errors),
  };
}

export const HEADER_MUTATION_FIELDS = [
  'request_headers_to_add',
  'request_headers_to_remove',
  'response_headers_to_add',
  'response_headers_to_remove',
] as const;
