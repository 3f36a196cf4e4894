/**
 * Security building blocks of confmesh: update validation before apply/forward, private-network keys, sealed
 * secrets, peer identities and client-id binding. Each concept lives in its own file; this module re-exports them
 * for the wiring code (the package entry exports only what users need).
 *
 * @module
 */
export * from './client-id.js'
export * from './errors.js'
export * from './identity.js'
export * from './integration-cost.js'
export * from './network-key.js'
export * from './secret-box.js'
export * from './update-guard.js'
export * from './utf8.js'
