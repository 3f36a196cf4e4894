/**
 * The JSON value type: what an entry of the document stores (`v`). Validation, equality and freezing live with the
 * config API in `config/value.ts`; the type sits here because the document schema (`entry.ts`) names it.
 *
 * @module
 */

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
