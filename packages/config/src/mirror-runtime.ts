/** A route's `request_mirror_policies`, compiled. */

/** One RequestMirrorPolicy: shadow a share of the route's requests to `cluster`. */
export interface MirrorPolicyRt {
  readonly cluster: string;
  /** `runtime_fraction.default_value` as a fraction (unset: every request). */
  readonly numerator: number;
  /** 100, 10,000 or 1,000,000. */
  readonly denominator: number;
  /** `disable_shadow_host_suffix_append`: the Host is sent unchanged (no `-shadow`). */
  readonly keepHost: boolean;
}
