/**
 * The explicit hardware model (spec/hardware.md): an ARMv8-flavoured machine with CPUs at
 * EL0/EL1/EL2, two-stage translation, tagged TLBs, an interrupt controller with timers and
 * a virtual CPU interface, and a console, block device and NIC that reach memory only
 * through an IOMMU. Everything here is a pure, total function over immutable values.
 *
 * @module
 */
export * from './config.ts';
export * from './error.ts';
export * from './machine.ts';
export * from './cpu.ts';
export * from './memory.ts';
export * from './mmu.ts';
export * from './tlb.ts';
export * from './translate.ts';
export * from './gic.ts';
export * from './iommu.ts';
export * from './exceptions.ts';
export * from './execute.ts';
export * from './events.ts';
export * from './devices/state.ts';
export * from './devices/mmio.ts';
export { CONSOLE_REG } from './devices/console.ts';
export { BLOCK_REG, BLOCK_CMD, BLOCK_MAX_COUNT } from './devices/block.ts';
export { NIC_REG, NIC_MAX_PACKET } from './devices/nic.ts';
export * from './isa/instruction.ts';
export * from './isa/encoding.ts';
export * from './isa/sysregs.ts';
export * from './isa/assembler.ts';
export * from './isa/disassembler.ts';
export * from './paging.ts';
export * from './maintenance.ts';
