/**
 * Calls an HTTP API with the platform `fetch` and checks every answer against the OpenAPI 3.1 document the API itself
 * serves (ajv, JSON Schema 2020-12), so the document cannot drift from the behaviour.
 */
import { Ajv2020 } from 'ajv/dist/2020.js'
import { expect } from 'vitest'

/** The parts of an OpenAPI document the check reads. */
export interface OpenApiDoc {
  openapi: string
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >
}

/** One answer. */
export interface Answer {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are checked against the OpenAPI document
  body: any
  text: string
  type: string
}

/** Options of one call. */
export interface CallOptions {
  body?: string
  token?: string
  base?: { url: string }
  headers?: Record<string, string>
}

/** A caller bound to a default API and its document. */
export type ApiCall = (method: string, path: string, options?: CallOptions) => Promise<Answer>

/** Fetches `base`'s OpenAPI document and returns it with a caller that validates every answer against it. */
export async function openApiCaller(base: { url: string }): Promise<{ doc: OpenApiDoc; call: ApiCall }> {
  const doc = (await (await fetch(`${base.url}/v1/openapi.json`)).json()) as OpenApiDoc
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  ajv.addSchema(doc as object, 'openapi')

  const check = (method: string, path: string, status: number, type: string, body: unknown): void => {
    const pathname = path.split('?')[0]!
    const template = Object.keys(doc.paths).find((t) =>
      new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(pathname),
    )
    if (template === undefined) {
      expect(status, `${method} ${path}: no such path in the OpenAPI document`).toBe(404)
      expect(body).toMatchObject({ error: { code: 'ERR_NOT_FOUND' } })
      return
    }
    const op = doc.paths[template]![method.toLowerCase()]
    expect(op, `${method} ${template} in the OpenAPI document`).toBeDefined()
    const key = String(status) in op!.responses ? String(status) : `${String(status)[0]}XX`
    const response = op!.responses[key]
    expect(response, `${method} ${path}: status ${status} documented`).toBeDefined()
    const media = type.split(';')[0]!.trim()
    const content = response!.content?.[media]
    expect(content, `${method} ${path}: ${status} ${media} documented`).toBeDefined()
    if (media !== 'application/json') return
    const pointer = `openapi#/paths/${template.replaceAll('~', '~0').replaceAll('/', '~1')}/${method.toLowerCase()}/responses/${key}/content/${media.replace('/', '~1')}/schema`
    const validate = ajv.getSchema(pointer) ?? ajv.compile({ $ref: pointer })
    expect(validate(body), `${method} ${path} ${status}: ${ajv.errorsText(validate.errors)}`).toBe(true)
  }

  const call: ApiCall = async (method, path, options = {}) => {
    const res = await fetch(`${(options.base ?? base).url}${path}`, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: options.body }),
    })
    const text = await res.text()
    const type = res.headers.get('content-type') ?? ''
    const body = type.includes('application/json') ? JSON.parse(text) : undefined
    check(method, path, res.status, type, body)
    return { status: res.status, body, text, type }
  }
  return { doc, call }
}
