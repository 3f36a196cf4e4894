/**
 * Strings shaped like Ed25519 libp2p peer ids (`12D3KooW` + 44 base58 characters), from a seeded random source, for
 * benches that place members on the ring without starting peers.
 *
 * @module
 */

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** A string shaped like an Ed25519 libp2p peer id. */
export function fakePeerId(random: () => number): string {
  let id = '12D3KooW'
  for (let i = 0; i < 44; i++) id += BASE58[Math.floor(random() * BASE58.length)]
  return id
}
