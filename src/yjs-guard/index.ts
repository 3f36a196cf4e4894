/**
 * The Yjs update guard: bound and validate every update before Yjs sees it (Yjs trusts its input). One concept per
 * file: `limits.ts` (the one table of bounds), `parser.ts` (the bounded v1 parser), `inspect.ts` (parse once, report
 * what an update touches), `integration-cost.ts` (conflict-resolution cost estimate), `map-values.ts` (a
 * document-aware check), `guarded-apply.ts` (apply without Yjs's unsafe paths), `errors.ts`.
 *
 * The folder imports nothing of confmesh but `src/errors.ts`: it can be lifted into a package of its own.
 *
 * @module
 */
export * from './errors.js'
export { applyInspected, type GuardedApplyResult, guardedApply } from './guarded-apply.js'
export {
  type ClockRange,
  type ContentCounts,
  type DeleteRange,
  type Inspection,
  inspect,
  inspectUpdate,
  type UpdateInfo,
} from './inspect.js'
export * from './limits.js'
