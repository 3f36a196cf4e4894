/**
 * Secret values of a mesh (`mesh.setSecret` / `mesh.secret`, on namespaces too): sealed with the mesh's data key
 * (`createMesh({ dataKey })`) by `secret-box.ts` (AES-256-GCM, a fresh random nonce per value, the namespace and key
 * bound as additional authenticated data) before they enter the document, so the document, the data dir and the
 * wire only ever hold the envelope. `get()` returns the envelope as is; `secret()` opens it.
 *
 * Errors: `DataKeyRequiredError` without a data key; `NotSealedError` for a value that is not an envelope;
 * `SecretKeyMismatchError` for an envelope sealed with another key; `SecretAuthenticationError` for a modified or
 * moved envelope. Never garbage.
 *
 * @module
 */
import type { JsonValue } from '../doc/json.js'
import { DataKeyRequiredError } from './authorization-errors.js'
import { InvalidDataKeyError } from './errors.js'
import { DATA_KEY_BYTES, dataKeyFromString, isSealed, openValue, sealValue, secretAad } from './secret-box.js'

/** Seals and opens the secret values of one mesh. */
export interface SecretCodec {
  /** Whether a data key is configured. */
  readonly hasKey: boolean
  /** The envelope to store for `value` at `namespace`/`key`. */
  seal(namespace: string, key: string, value: JsonValue): JsonValue
  /** The value inside the stored envelope (`undefined` for an absent key). */
  open(namespace: string, key: string, stored: JsonValue | undefined): JsonValue | undefined
}

/** Decodes a data key given as bytes or as `dataKeyToString()` text. @throws InvalidDataKeyError */
export function resolveDataKey(dataKey: Uint8Array | string): Uint8Array {
  if (typeof dataKey === 'string') return dataKeyFromString(dataKey)
  if (!(dataKey instanceof Uint8Array) || dataKey.byteLength !== DATA_KEY_BYTES) {
    throw new InvalidDataKeyError(`dataKey must be ${DATA_KEY_BYTES} bytes (or their base64 text)`)
  }
  return new Uint8Array(dataKey)
}

/** Creates the codec; without `dataKey` every seal/open throws {@link DataKeyRequiredError}. */
export function createSecretCodec(dataKey?: Uint8Array | string): SecretCodec {
  const key = dataKey === undefined ? undefined : resolveDataKey(dataKey)
  const need = (): Uint8Array => {
    if (key === undefined) throw new DataKeyRequiredError('this mesh has no data key: pass createMesh({ dataKey })')
    return key
  }
  return {
    hasKey: key !== undefined,
    seal: (namespace, key_, value) => sealValue(need(), value, secretAad(namespace, key_)) as unknown as JsonValue,
    open: (namespace, key_, stored) => {
      if (stored === undefined) return undefined
      if (!isSealed(stored)) return openValue(need(), stored) as JsonValue // throws NotSealedError (after the key check)
      return openValue(need(), stored, secretAad(namespace, key_)) as JsonValue
    },
  }
}
