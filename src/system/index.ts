/**
 * The system interface (spec/system.md) and its supervisors.
 *
 * @module
 */
export * from './types.ts';
export { step } from './step.ts';
export { fingerprint, fingerprintLanes } from './fingerprint.ts';
export { microkernel, bootMicrokernel, type MicrokernelSystem } from './microkernel.ts';
export { hypervisor, bootHypervisorSystem, type HypervisorSystem } from './hypervisor.ts';
