/**
 * `exportTo`: which namespaces see a Service, ServiceEntry, VirtualService or DestinationRule.
 * Entries: `.` the resource's own namespace, `*` every namespace, `~` none, or a namespace
 * name. Without `exportTo` the mesh config's default for the kind applies
 * (`defaultServiceExportTo`, `defaultVirtualServiceExportTo`, `defaultDestinationRuleExportTo`),
 * and without that `*`, as in Istio.
 */
export function exportedTo(exportTo: readonly string[] | undefined, meshDefault: readonly string[] | undefined, ownNamespace: string, namespace: string): boolean {
  const list = exportTo !== undefined && exportTo.length > 0 ? exportTo : meshDefault !== undefined && meshDefault.length > 0 ? meshDefault : ['*'];
  return list.some((e) => e === '*' || e === namespace || (e === '.' && ownNamespace === namespace));
}
