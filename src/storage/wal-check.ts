/**
 * Damage detection in a SQLite write-ahead log left by a crashed process.
 *
 * SQLite reads a log frame by frame, checking each frame's salts and its cumulative checksum, and stops at the first
 * frame that fails: it takes that frame for the torn tail of a transaction that was being written when the process or
 * the machine died. That is right for the last transaction, but a bit flip in an earlier, acknowledged transaction
 * also stops it there, and every transaction from that frame on disappears without an error.
 *
 * The two cases can be told apart: with `synchronous=FULL`, SQLite writes a transaction's frames, fsyncs the log, and
 * only then lets the next transaction write. So if a failing frame is followed by the commit frame of its transaction
 * and then by any frame of a later transaction (same salts: same log generation), that transaction was on disk before
 * the later one was written: the failure is damage, not a tear. A failure in the last transaction stays undecidable
 * and is treated as a tear, as SQLite does.
 *
 * Format: https://www.sqlite.org/fileformat2.html#walformat (32-byte header, then frames of a 24-byte header and a
 * page).
 *
 * @module
 */

const WAL_HEADER_BYTES = 32
const FRAME_HEADER_BYTES = 24
const MAGIC_LITTLE_ENDIAN = 0x377f0682
const MAGIC_BIG_ENDIAN = 0x377f0683

type Checksum = [number, number]

/** SQLite's log checksum over `data` (a multiple of 8 bytes), continuing from `start`. */
function walChecksum(data: Buffer, bigEndian: boolean, start: Checksum): Checksum {
  let s1 = start[0]
  let s2 = start[1]
  for (let i = 0; i + 8 <= data.length; i += 8) {
    const x0 = bigEndian ? data.readUInt32BE(i) : data.readUInt32LE(i)
    const x1 = bigEndian ? data.readUInt32BE(i + 4) : data.readUInt32LE(i + 4)
    s1 = (s1 + x0 + s2) >>> 0
    s2 = (s2 + x1 + s1) >>> 0
  }
  return [s1, s2]
}

/**
 * Looks for damage in the write-ahead log `wal` of a database with pages of `pageSize` bytes. Returns a description
 * of the damage, or `undefined` when the log is intact or ends in what may be a torn write.
 */
export function findWalDamage(wal: Buffer, pageSize: number): string | undefined {
  const frameBytes = FRAME_HEADER_BYTES + pageSize
  const frames = Math.floor(Math.max(0, wal.length - WAL_HEADER_BYTES) / frameBytes)
  if (frames === 0) return undefined
  const magic = wal.readUInt32BE(0)
  const bigEndian = magic === MAGIC_BIG_ENDIAN
  const headerOk =
    (magic === MAGIC_LITTLE_ENDIAN || magic === MAGIC_BIG_ENDIAN) &&
    wal.readUInt32BE(8) === pageSize &&
    (() => {
      const [s1, s2] = walChecksum(wal.subarray(0, 24), bigEndian, [0, 0])
      return s1 === wal.readUInt32BE(24) && s2 === wal.readUInt32BE(28)
    })()
  const salts = wal.subarray(16, 24)
  const frameAt = (index: number): Buffer => wal.subarray(WAL_HEADER_BYTES + index * frameBytes)
  const saltsMatch = (index: number): boolean => frameAt(index).subarray(8, 16).equals(salts)
  const isCommit = (index: number): boolean => frameAt(index).readUInt32BE(4) !== 0

  // The first frame SQLite would stop at.
  let firstBad = headerOk ? -1 : 0
  if (headerOk) {
    let checksum: Checksum = [wal.readUInt32BE(24), wal.readUInt32BE(28)]
    for (let i = 0; i < frames; i++) {
      const frame = frameAt(i)
      checksum = walChecksum(frame.subarray(0, 8), bigEndian, checksum)
      checksum = walChecksum(frame.subarray(FRAME_HEADER_BYTES, frameBytes), bigEndian, checksum)
      if (!saltsMatch(i) || checksum[0] !== frame.readUInt32BE(16) || checksum[1] !== frame.readUInt32BE(20)) {
        firstBad = i
        break
      }
    }
  }
  if (firstBad < 0) return undefined

  // The commit frame ending the failing frame's transaction, then any frame of a later transaction.
  let commit = -1
  for (let i = firstBad; i < frames; i++) {
    if (saltsMatch(i) && isCommit(i)) {
      commit = i
      break
    }
  }
  if (commit < 0) return undefined
  for (let i = commit + 1; i < frames; i++) {
    if (saltsMatch(i)) {
      return (
        `${firstBad === 0 && !headerOk ? 'its header' : `frame ${firstBad + 1}`} fails its checksum, but transactions ` +
        'committed after it follow (SQLite would silently drop them)'
      )
    }
  }
  return undefined
}
