/**
 * Describes the machine a benchmark ran on, so every results section says where its numbers come from, including how
 * busy the CPUs already were (other work inflates every latency measured on a small machine).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import os from 'node:os'

/** Where and when a benchmark ran. */
export interface MachineInfo {
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  platform: string
  date: string
  /** Fraction of all CPU time busy during a short sample before the run (0..1), `NaN` off Linux. */
  busy: number
}

function cpuTimes(): { idle: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
    const v = line.trim().split(/\s+/).slice(1).map(Number)
    const idle = (v[3] ?? 0) + (v[4] ?? 0)
    return { idle, total: v.reduce((a, b) => a + b, 0) }
  } catch {
    return undefined
  }
}

/**
 * Sample how busy the CPUs are (all processes) over `ms` milliseconds, from /proc/stat.
 *
 * @param ms - sample length (default 1000)
 * @returns busy fraction in [0, 1], or `NaN` where /proc/stat is unavailable
 */
export async function sampleCpuBusy(ms = 1000): Promise<number> {
  const a = cpuTimes()
  await new Promise((r) => setTimeout(r, ms)) // a measurement window, not synchronisation
  const b = cpuTimes()
  if (!a || !b || b.total <= a.total) return Number.NaN
  return 1 - (b.idle - a.idle) / (b.total - a.total)
}

/**
 * Read the CPU model, core count, memory, Node version, OS and the current date (ISO, UTC). `busy` is `NaN`: use
 * {@link sampleMachine} to include how busy the CPUs are.
 */
export function describeMachine(): MachineInfo {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    busy: Number.NaN,
  }
}

/** {@link describeMachine} plus how busy the CPUs are right now (a sample of /proc/stat over `ms`, default 500). */
export async function sampleMachine(ms = 500): Promise<MachineInfo> {
  return { ...describeMachine(), busy: await sampleCpuBusy(ms) }
}

/**
 * One markdown line describing the machine, for the top of a results section.
 *
 * @param info - from {@link sampleMachine} taken before the run (default: {@link describeMachine} now)
 */
export function machineLine(info: MachineInfo = describeMachine()): string {
  const busy = Number.isNaN(info.busy)
    ? ''
    : `; CPUs ${Math.round(info.busy * 100)} % busy with other work just before the run${info.busy > 0.25 ? ' (**busy machine: latencies inflated**)' : ''}`
  return `Machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node}, ${info.platform}; run ${info.date}${busy}.`
}

/**
 * Warn on stderr when the machine is already busy (more than 25 % of all CPU time in use before the run), since every
 * latency measured then includes waiting for a CPU.
 *
 * @param info - from {@link sampleMachine}
 */
export function warnIfBusy(info: MachineInfo): void {
  if (info.busy > 0.25) {
    process.stderr.write(
      `[bench] warning: CPUs ${Math.round(info.busy * 100)} % busy with other work before the run; results will be inflated\n`,
    )
  }
}
