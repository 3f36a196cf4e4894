/**
 * A logger for flagd-core that drops everything: flagd-core logs every targeting miss at debug level, once per
 * evaluation, which costs more than the evaluation itself. Errors reach callers through resolution details instead.
 *
 * @module
 */
import type { Logger } from '@openfeature/core'

const noop = (): void => {}

/** Drops every message. */
export const silentLogger: Logger = { error: noop, warn: noop, info: noop, debug: noop }
