/**
 * Envoy's per-cluster membership update stats (`cluster.<name>.update_*`), as a STRICT_DNS /
 * LOGICAL_DNS cluster counts them: each name's lookup is an attempt; it succeeds or fails;
 * a success that leaves the name's addresses as they were rebuilds nothing (update_no_rebuild).
 * update_empty counts empty load assignments, which only EDS delivers: 0 for DNS clusters.
 */
export class ConfigUpdateStats {
  update_attempt = 0;
  update_success = 0;
  update_failure = 0;
  update_empty = 0;
  update_no_rebuild = 0;
}
