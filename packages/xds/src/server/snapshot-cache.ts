/**
 * Snapshots per node id (go-control-plane's SnapshotCache). The control plane sets a whole
 * snapshot for a proxy; the ADS streams of that proxy are told and push what changed.
 */
import { checkConsistency, InconsistentSnapshotError } from './consistency.js';
import { Snapshot, type SnapshotInput } from './snapshot.js';

export type SnapshotListener = (snapshot: Snapshot) => void;

export class SnapshotCache {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly watchers = new Map<string, Set<SnapshotListener>>();

  /**
   * Installs a snapshot for `nodeId` and notifies its streams. `input` may be resources
   * (encoded here; unchanged types keep their previous version) or a ready Snapshot (e.g. one
   * shared by many proxies). Throws InconsistentSnapshotError, installing nothing, when a
   * listener, route or cluster refers to a resource the snapshot lacks.
   */
  private readonly consistent = new WeakSet<Snapshot>();

  setSnapshot(nodeId: string, input: SnapshotInput | Snapshot): Snapshot {
    // A Snapshot shared by many nodes is checked once.
    if (!(input instanceof Snapshot && this.consistent.has(input))) {
      const errors = checkConsistency(input instanceof Snapshot ? input.toResources() : input);
      if (errors.length > 0) throw new InconsistentSnapshotError(nodeId, errors);
      if (input instanceof Snapshot) this.consistent.add(input);
    }
    const snapshot = input instanceof Snapshot ? input : Snapshot.create(input, this.snapshots.get(nodeId));
    this.snapshots.set(nodeId, snapshot);
    for (const w of this.watchers.get(nodeId) ?? []) w(snapshot);
    return snapshot;
  }

  getSnapshot(nodeId: string): Snapshot | undefined {
    return this.snapshots.get(nodeId);
  }

  /** Forgets a node's snapshot (its streams keep what they were sent). */
  clearSnapshot(nodeId: string): void {
    this.snapshots.delete(nodeId);
  }

  nodeIds(): string[] {
    return [...this.snapshots.keys()];
  }

  /** Calls `fn` on every new snapshot for `nodeId`; returns the unsubscribe function. */
  watch(nodeId: string, fn: SnapshotListener): () => void {
    let set = this.watchers.get(nodeId);
    if (set === undefined) this.watchers.set(nodeId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.watchers.delete(nodeId);
    };
  }
}
