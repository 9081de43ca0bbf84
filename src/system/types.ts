/**
 * The one interface over every supervisor (SYS-1..6 in spec/system.md): a system is a machine
 * and a supervisor state; it moves by `step` over a small event vocabulary; and it can be
 * asked for its isolation domains, what each domain can observe, who may affect whom, and
 * which invariants hold. The microkernel and the hypervisor both implement it, so tests,
 * the model checker, the oracle and the analysis treat them alike.
 *
 * @module
 */
import type * as E from 'fp-ts/lib/Either.js';
import type { ExecRecord, Machine, MkhvError, Trap } from '../hw/index.ts';
import type { OpList } from '../perf/ops.ts';

/** What can happen to a system (SYS-2). */
export type SystemEvent =
  /** CPU `cpu` runs one step: an instruction (fetched, or `insn` injected) or an interrupt, and any supervisor entry it causes. */
  | { readonly kind: 'exec'; readonly cpu: number; readonly insn?: number }
  /** CPU `cpu`'s counter advances by one. */
  | { readonly kind: 'tick'; readonly cpu: number }
  /** An external interrupt line is raised. */
  | { readonly kind: 'irq'; readonly line: number }
  /** A packet arrives at network device `device`. */
  | { readonly kind: 'device'; readonly device: number; readonly packet: readonly number[] }
  /** A fault is injected: domain `domain` crashes (every thread or vCPU of it stops). */
  | { readonly kind: 'inject'; readonly fault: { readonly kind: 'crash'; readonly domain: string } };

/** Something a domain observes happen in a step (SYS-3). */
export interface Observation {
  readonly domain: string;
  /** The thread or vCPU concerned. */
  readonly subject: string;
  readonly kind: string;
  readonly values: readonly number[];
}

/** A lifecycle change (thread state, domain state) and the statechart event behind it. */
export interface LifecycleTransition {
  readonly subject: string;
  readonly from: string;
  readonly to: string;
  readonly event: string;
}

export interface System<S> {
  readonly machine: Machine;
  readonly state: S;
}

export interface StepResult<S> {
  readonly system: System<S>;
  /** The hardware's record of the step, for `exec` events. */
  readonly record: ExecRecord | null;
  /** The trap the step took, if any. */
  readonly trap: Trap | null;
  readonly ops: OpList;
  readonly observations: readonly Observation[];
  readonly lifecycle: readonly LifecycleTransition[];
  /** Set when the event itself was invalid; the system is then unchanged. */
  readonly error: MkhvError | null;
}

/** A directed authority edge: `from` may affect `to` (SYS-5). */
export interface AuthorityEdge {
  readonly from: string;
  readonly to: string;
  /** Why: the shared object or capability that gives the authority. */
  readonly via: string;
}

/** The outcome of one named invariant (SYS-6): its violations, empty when it holds. */
export interface InvariantResult {
  readonly name: string;
  readonly violations: readonly string[];
}

/** What a supervisor entry did. */
export interface SupervisorEntry<S> {
  readonly system: System<S>;
  readonly ops: OpList;
  readonly observations: readonly Observation[];
  readonly lifecycle: readonly LifecycleTransition[];
}

/** A supervisor, as a set of pure functions (SYS-1). */
export interface Supervisor<S> {
  readonly name: 'microkernel' | 'hypervisor';
  /** Traps to this exception level are the supervisor's to handle. */
  readonly trapLevel: 1 | 2;
  /** Handles a trap taken to `trapLevel` on CPU `cpu`, to completion. */
  handleTrap(system: System<S>, cpu: number, trap: Trap): SupervisorEntry<S>;
  /** Injects a crash of `domain` (SYS-2). */
  crash(system: System<S>, domain: string): E.Either<MkhvError, SupervisorEntry<S>>;
  domains(system: System<S>): readonly string[];
  /** Everything domain `d` can observe, as a canonical JSON value (SYS-4). */
  view(system: System<S>, domain: string): unknown;
  authority(system: System<S>): readonly AuthorityEdge[];
  invariants(system: System<S>): readonly InvariantResult[];
  /** The domain of the thread or vCPU CPU `cpu` is running, or null when it runs none. */
  runningDomain(system: System<S>, cpu: number): string | null;
  /**
   * CHK-SYM-1 (spec/model-checking.md): the system with domains `swap[0]` and `swap[1]`
   * exchanged — a faithful relabelling of every name, id, tag and frame that identifies them —
   * or null when this state is not relabelled. Absent: the supervisor offers no symmetry.
   */
  permute?(system: System<S>, swap: readonly [string, string]): System<S> | null;
}
