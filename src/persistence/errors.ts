/**
 * Named errors of the mesh-side persistence wiring. Storage engine errors (`StorageLockedError`,
 * `StorageCorruptError`, ...) come from `src/storage` unchanged; this file only adds what the engine cannot know.
 *
 * @module
 */
import { ConfmeshError } from '../errors.js'

/**
 * The data directory belongs to another mesh or another peer: it holds the state of mesh `A` and `createMesh` was
 * called with `name: 'B'`, or it holds identity X and `createMesh` was given a different `privateKey`. Nothing was
 * changed. Use the right data directory, or a fresh one.
 */
export class DataDirMismatchError extends ConfmeshError {
  static override readonly code = 'ERR_DATA_DIR_MISMATCH'
}
