/**
 * The versions API every mesh exposes (`ConfigMesh` extends it): vector-clock versions, replicated history,
 * point-in-time views, diffs and rollback. See `docs/versions.md` for the model.
 *
 * @module
 */
import type { HistoryChange } from './diff.js'
import type { HistoryEntry, HistoryOptions } from './history.js'
import type { RollbackOptions, RollbackResult } from './rollback.js'
import type { Version, VersionOrder, VersionRef } from './vector-clock.js'
import type { VersionWaitOptions } from './version-wait.js'
import type { VersionView } from './view.js'

/** Versions of the replicated configuration. */
export interface MeshVersions {
  /** The current version of this replica: its state vector as a {@link Version}. Cheap. */
  version(): Version
  /**
   * Vector-clock order of `a` relative to `b` (`'before'`: `b` includes all of `a` and more). Accepts versions or ids.
   * Throws `UnknownVersionError` for a garbage id.
   */
  compare(a: VersionRef, b: VersionRef): VersionOrder
  /** Retained history, newest first, identical on every converged peer. */
  history(options?: HistoryOptions): HistoryEntry[]
  /** Records a labelled version (a change-less history entry, replicated like any write); resolves with it. */
  snapshot(message?: string): Promise<Version>
  /**
   * A read-only view of the whole configuration as it was at `version` (any peer's version or history entry).
   * Throws `UnknownVersionError` for a garbage id or one naming writes this peer has not received yet, and
   * `VersionPrunedError` when the version is older than the retained history.
   */
  at(version: VersionRef): VersionView
  /** The keys that differ between `from` and `to` (default: now), sorted by namespace and key. */
  diff(from: VersionRef, to?: VersionRef): HistoryChange[]
  /**
   * {@link MeshVersions.at} for a version this peer may not have received yet (e.g. taken on another peer a moment
   * ago): pulls the missing writes from connected peers and resolves once they are here; rejects with
   * `UnknownVersionError` (its `missing` names the writers) after `timeoutMs` (default 5 s).
   */
  atAsync(version: VersionRef, options?: VersionWaitOptions): Promise<VersionView>
  /** {@link MeshVersions.diff} after waiting for both versions' writes as {@link MeshVersions.atAsync} does. */
  diffAsync(from: VersionRef, to?: VersionRef, options?: VersionWaitOptions): Promise<HistoryChange[]>
  /**
   * Makes the configuration (or one namespace, or some keys of one namespace) equal to `version` again, as ONE new
   * forward change: it reaches every peer, appears in history (`rollback to <id>`), and wins over every write made
   * before it, even one this peer receives only later, for every key it writes (named keys, keys changed since the
   * target, keys that differ; see `RollbackOptions.rewrite`). Waits for the version's writes as
   * {@link MeshVersions.atAsync} does (`timeoutMs`, default 5 s); other errors as {@link MeshVersions.at}.
   */
  rollback(version: VersionRef, options?: RollbackOptions): Promise<RollbackResult>
}
