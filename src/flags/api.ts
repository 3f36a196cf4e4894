/**
 * The feature-flag API every mesh exposes (`ConfigMesh` extends it). Evaluation goes through OpenFeature with
 * {@link ConfmeshProvider}; see the README section "Feature flags".
 *
 * @module
 */
import type { JsonValue } from '../config/value.js'
import type { ImportFlagsOptions, ImportFlagsResult } from './import-flags.js'

/** Loading flagd flag files. */
export interface MeshFlags {
  /**
   * Loads a flagd flag file (text or parsed JSON) unchanged into the namespace `options.namespace` (default
   * `'flags'`), one key per flag, as ONE change. Checked first against flagd's flag-definition schema and by
   * flagd-core (`InvalidFlagsError`, nothing written), then by the namespace's schemas like any write.
   */
  importFlags(json: string | JsonValue, options?: ImportFlagsOptions): Promise<ImportFlagsResult>
}
