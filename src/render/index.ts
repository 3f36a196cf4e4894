/**
 * Config files rendered from templates (`confmesh render`, or embedded: {@link createRenderer}).
 *
 * @example
 * ```ts
 * import { createRenderer } from 'confmesh'
 *
 * const renderer = createRenderer({
 *   endpoint: 'http://127.0.0.1:8500', // or mesh: an in-process ConfigMesh
 *   template: '/etc/confmesh/upstream.liquid',
 *   out: '/etc/nginx/conf.d/upstream.conf',
 *   exec: 'nginx -s reload',
 * })
 * await renderer.start() // renders now, then again on every relevant change
 * // ...
 * await renderer.stop()
 * ```
 *
 * @module
 */
export { DEFAULT_FILE_MODE, writeFileAtomic } from './atomic-write.js'
export { type ConfigSource, endpointSource, meshSource } from './config-source.js'
export { ExecFailedError, RenderSourceError, RenderWriteError, TemplateError } from './errors.js'
export { DEFAULT_EXEC_TIMEOUT_MS, type ExecResult } from './exec.js'
export {
  createRenderer,
  DEFAULT_DEBOUNCE_MS,
  DEFAULT_MAX_WAIT_MS,
  type Renderer,
  type RendererOptions,
  type RenderResult,
} from './renderer.js'
export { type ConfigTemplate, compileTemplate, type TemplateData, type TemplateOptions } from './template.js'
