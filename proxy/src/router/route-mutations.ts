/**
 * The header mutation levels of a route target (weighted cluster, route, virtual host,
 * route configuration), gathered once per compiled target and cached: most routes have
 * none, and then the request path does no work for them at all.
 */
import type { RouteConfigRt, RouteRt, VirtualHostRt, WeightedClusterRt } from '@minimesh/config/runtime';
import { hasFormattedValue, isEmptyMutation, type HeaderMutationLevel } from './header-mutation.js';

export interface RouteMutations {
  /** Empty when no level changes request headers. */
  readonly request: readonly HeaderMutationLevel[];
  readonly response: readonly HeaderMutationLevel[];
  /** Some request / response value has `%OPERATOR%`s: the router passes a HeaderFormatSource. */
  readonly requestFormatted: boolean;
  readonly responseFormatted: boolean;
}

const NONE: readonly HeaderMutationLevel[] = [];
const cache = new WeakMap<WeightedClusterRt, RouteMutations>();

export function routeMutations(w: WeightedClusterRt, route: RouteRt, vh: VirtualHostRt, rc: RouteConfigRt): RouteMutations {
  let m = cache.get(w);
  if (m !== undefined) return m;
  const request: HeaderMutationLevel[] = [
    { toAdd: w.requestHeadersToAdd, toRemove: w.requestHeadersToRemove },
    { toAdd: route.requestHeadersToAdd, toRemove: route.requestHeadersToRemove },
    { toAdd: vh.requestHeadersToAdd, toRemove: vh.requestHeadersToRemove },
    { toAdd: rc.requestHeadersToAdd, toRemove: rc.requestHeadersToRemove },
  ];
  const response: HeaderMutationLevel[] = [
    { toAdd: w.responseHeadersToAdd, toRemove: w.responseHeadersToRemove },
    { toAdd: route.responseHeadersToAdd, toRemove: route.responseHeadersToRemove },
    { toAdd: vh.responseHeadersToAdd, toRemove: vh.responseHeadersToRemove },
    { toAdd: rc.responseHeadersToAdd, toRemove: rc.responseHeadersToRemove },
  ];
  m = {
    request: isEmptyMutation(request) ? NONE : request,
    response: isEmptyMutation(response) ? NONE : response,
    requestFormatted: hasFormattedValue(request),
    responseFormatted: hasFormattedValue(response),
  };
  cache.set(w, m);
  return m;
}
