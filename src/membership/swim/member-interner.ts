/**
 * Process-wide interning of what every member table repeats: member ids and member metadata.
 *
 * Every SWIM peer holds an entry for every member, and each entry used to hold its own copy of the member's id
 * string and metadata object, decoded from the message that brought it (about 400 of the 550 bytes an entry cost).
 * Ids and metadata are immutable values, so one copy per process is enough: {@link MemberInterner.handleOf} maps an
 * id to a small integer handle (the index member tables key their arrays by) and {@link MemberInterner.shareMeta}
 * returns the one metadata object already held for that member when the new one is equal to it. With one SWIM peer
 * per process (production) this changes nothing but the handles; with thousands (the simulation) it divides the
 * table memory several times.
 *
 * Guarantees: a handle names the same id for the life of the process (handles are never reused, so a stale handle
 * can never point at another member); `shareMeta` returns a value equal ({@link sameMeta}) to its argument.
 * Memory grows with the number of distinct member ids ever seen by the process (about 100 bytes each), not with
 * the number of peers holding them.
 *
 * @module
 */
import { type MemberMeta, sameMeta } from './member.js'

/** Ids and metadata shared by every member table of the process. */
export class MemberInterner {
  readonly #handles = new Map<string, number>()
  readonly #ids: string[] = []
  readonly #metas: Array<MemberMeta | undefined> = []

  /** Handles given out so far (every handle is below this). */
  get size(): number {
    return this.#ids.length
  }

  /** The handle of `id`, given out on first sight. */
  handleOf(id: string): number {
    let handle = this.#handles.get(id)
    if (handle === undefined) {
      handle = this.#ids.length
      this.#handles.set(id, handle)
      this.#ids.push(id)
      this.#metas.push(undefined)
    }
    return handle
  }

  /** The handle of `id` if it has one (lookups of unknown ids must not grow the interner). */
  find(id: string): number | undefined {
    return this.#handles.get(id)
  }

  /** The shared id string of `handle`. */
  idOf(handle: number): string {
    return this.#ids[handle] as string
  }

  /** The metadata object to store for member `handle`: the shared one when equal, else `meta` (now shared). */
  shareMeta(handle: number, meta: MemberMeta): MemberMeta {
    const held = this.#metas[handle]
    if (held !== undefined && sameMeta(held, meta)) return held
    this.#metas[handle] = meta
    return meta
  }
}

/** The interner of this process. */
export const MEMBER_INTERNER = new MemberInterner()
