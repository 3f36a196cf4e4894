/**
 * Per-process resource readings from /proc (Linux): resident memory and I/O counters. Elsewhere the readers return
 * `NaN`, and the tables print `n/a`.
 *
 * @module
 */
import { readFileSync } from 'node:fs'

/** I/O counters of one process: bytes and syscalls through read/write (sockets, pipes and files alike). */
export interface IoCounters {
  rchar: number
  wchar: number
  syscr: number
  syscw: number
}

/**
 * Resident set size of a process in bytes, from `/proc/<pid>/status` (VmRSS).
 *
 * @param pid - defaults to this process
 */
export function rssOf(pid: number | 'self' = 'self'): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}

/**
 * I/O counters of a process from `/proc/<pid>/io`.
 *
 * @param pid - defaults to this process
 */
export function ioOf(pid: number | 'self' = 'self'): IoCounters {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8')
    const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN)
    return { rchar: get('rchar'), wchar: get('wchar'), syscr: get('syscr'), syscw: get('syscw') }
  } catch {
    return { rchar: Number.NaN, wchar: Number.NaN, syscr: Number.NaN, syscw: Number.NaN }
  }
}

/**
 * CPU time (user + system) of a process in milliseconds, from `/proc/<pid>/stat`.
 *
 * @param pid - the process id
 */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return (ticks * 1000) / 100 // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN
  }
}

/**
 * Direct children of a process, from `/proc/<pid>/task/<pid>/children`.
 *
 * @param pid - the parent
 */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}
