/**
 * `typed_per_filter_config` of a virtual host or route: the HTTP filters of minimesh that take
 * per-route config, each with its compiler, and the field of the route / virtual host it fills.
 */
import type { AnyLike } from '@minimesh/api';
import { compileHttpFault, FAULT_FILTER } from './compile-fault.js';
import { compileCorsPolicy } from './compile-cors.js';
import { CORS_FILTER, type CorsPolicyRt } from './cors-runtime.js';
import { join, type Errors } from './errors.js';
import type { HttpFaultRt } from './fault-runtime.js';

/** What a route or virtual host carries for its filters (each absent when not configured). */
export interface PerFilterConfigRt {
  fault?: HttpFaultRt;
  cors?: CorsPolicyRt;
}

type Compiler = (any: AnyLike, path: string, errors: Errors, out: PerFilterConfigRt) => void;

const REGISTRY: Readonly<Record<string, Compiler>> = {
  [FAULT_FILTER]: (any, path, errors, out) => {
    const f = compileHttpFault(any, path, errors);
    if (f !== undefined) out.fault = f;
  },
  [CORS_FILTER]: (any, path, errors, out) => {
    const c = compileCorsPolicy(any, path, errors);
    if (c !== undefined) out.cors = c;
  },
};

export function compilePerFilterConfig(m: Readonly<Record<string, AnyLike>> | null | undefined, path: string, errors: Errors): PerFilterConfigRt {
  const out: PerFilterConfigRt = {};
  for (const [name, any] of Object.entries(m ?? {})) {
    const compile = REGISTRY[name];
    if (compile !== undefined) compile(any, join(path, name), errors, out);
    else errors.add(join(path, name), `per-route config is supported for ${Object.keys(REGISTRY).join(', ')} only in minimesh`);
  }
  return out;
}
