import * as prng from 'lib0/prng'
import { describe, expect, it } from 'vitest'
import { utf16Length } from '../../src/yjs-guard/utf8.js'

const SEED = Number(process.env.CONFMESH_TEST_SEED ?? Date.now() % 1_000_000)
console.log(`security-utf8 seed=${SEED}`)
const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const reference = (b: Uint8Array): number => {
  try {
    return fatal.decode(b).length
  } catch {
    return -1
  }
}

describe('utf16Length', () => {
  it('agrees with a fatal TextDecoder on random byte strings biased towards UTF-8 edge cases', () => {
    const gen = prng.create(SEED)
    const edges = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4]
    for (let t = 0; t < 50_000; t++) {
      const b = new Uint8Array(prng.int32(gen, 0, 7))
      for (let i = 0; i < b.length; i++) {
        b[i] = prng.bool(gen) ? prng.oneOf(gen, [...edges, 0xf5, 0xff]) : prng.int32(gen, 0, 255)
      }
      expect(utf16Length(b), [...b].join(',')).toBe(reference(b))
    }
  })

  it('agrees with a fatal TextDecoder on long runs too (checked natively), valid or broken anywhere', () => {
    const gen = prng.create(SEED + 1)
    const enc = new TextEncoder()
    const pieces = ['a', 'é', '€', '😀', '\uFEFF', 'z'.repeat(40)]
    for (let t = 0; t < 5_000; t++) {
      let text = ''
      while (text.length < prng.int32(gen, 48, 300)) text += prng.oneOf(gen, pieces)
      const b = enc.encode(text)
      if (prng.bool(gen)) b[prng.int32(gen, 0, b.length - 1)] = prng.oneOf(gen, [0x80, 0xbf, 0xc0, 0xed, 0xf5, 0xff])
      expect(utf16Length(b), [...b].join(',')).toBe(reference(b))
    }
  })

  it('counts every code point like JavaScript strings do (surrogate pairs count 2, BOM is kept)', () => {
    const enc = new TextEncoder()
    for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x3000 ? 1 : 97) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue
      const s = String.fromCodePoint(cp)
      expect(utf16Length(enc.encode(s))).toBe(s.length)
    }
    expect(utf16Length(enc.encode('\uFEFFa😀'))).toBe(4)
  })

  it('measures a sub-range without copying', () => {
    const b = new TextEncoder().encode('xxhé😀yy')
    expect(utf16Length(b, 2, b.length - 2)).toBe(4)
    expect(utf16Length(b, 3, 4)).toBe(-1) // cut inside é
  })
})
