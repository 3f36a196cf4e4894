/**
 * Describes the machine a benchmark ran on, so every results section says where its numbers come from.
 *
 * @module
 */
import os from 'node:os'

/** Where and when a benchmark ran. */
export interface MachineInfo {
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  platform: string
  date: string
}

/** Read the CPU model, core count, memory, Node version, OS and the current date (ISO, UTC). */
export function describeMachine(): MachineInfo {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  }
}

/**
 * One markdown line describing the machine, for the top of a results section.
 *
 * @param info - defaults to {@link describeMachine}()
 */
export function machineLine(info: MachineInfo = describeMachine()): string {
  return `Machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node}, ${info.platform}; run ${info.date}.`
}
