/**
 * A long-lived part of a mesh peer that starts and stops. The wiring (`wiring.ts`) lists every part in the order it
 * starts and the order it stops; the facade runs the lists.
 *
 * @module
 */

/** A part with a lifecycle. Both steps are optional: some parts only start, some only release. */
export interface Startable {
  /** For logs and errors. */
  readonly name: string
  start?(): Promise<void>
  stop?(): Promise<void>
}

/** Starts `parts` one after another, in order. */
export async function startAll(parts: readonly Startable[]): Promise<void> {
  for (const part of parts) await part.start?.()
}

/** Stops `parts` one after another, in order. */
export async function stopAll(parts: readonly Startable[]): Promise<void> {
  for (const part of parts) await part.stop?.()
}
