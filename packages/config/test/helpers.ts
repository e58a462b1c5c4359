import { parseResource, TYPE_URL, type RouteConfiguration } from '@minimesh/api';
import { compileRouteConfiguration, type ConfigError, type RequestView, type RouteConfigRt } from '../src/index.js';

export function routeConfig(yaml: string): RouteConfigRt {
  const p = parseResource<RouteConfiguration>(TYPE_URL.RouteConfiguration, yaml, 'rc.yaml');
  if (!p.ok) throw new Error(JSON.stringify(p.errors));
  const c = compileRouteConfiguration(p.value);
  if (!c.ok) throw new Error(JSON.stringify(c.errors));
  return c.value;
}

/** Errors of a route configuration, as `path: message` lines. */
export function routeConfigErrors(yaml: string): string[] {
  const p = parseResource<RouteConfiguration>(TYPE_URL.RouteConfiguration, yaml, 'rc.yaml');
  if (!p.ok) return p.errors.map(fmt);
  const c = compileRouteConfiguration(p.value);
  return c.ok ? [] : c.errors.map(fmt);
}

export const fmt = (e: ConfigError): string => `${e.path}: ${e.message}`;

export function req(path: string, headers: Record<string, string | string[]> = {}, method = 'GET', authority = 'example.com'): RequestView {
  const headerNames: string[] = [];
  const headerValues: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    for (const x of Array.isArray(v) ? v : [v]) {
      headerNames.push(k);
      headerValues.push(x);
    }
  }
  return { method, path, authority, headerNames, headerValues };
}
