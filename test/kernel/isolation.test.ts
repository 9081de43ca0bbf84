/**
 * Isolation (spec/microkernel.md §12): the domains (MK-ISO-1), what each can observe
 * (MK-ISO-2) and who may affect whom (MK-ISO-3), on hand-built scenarios; and integrity
 * (MK-PROP-3) as a property over random scenarios and traces.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeInfo, ERROR, INVOCATION, SYSCALL, type KernelScenario, type KernelState } from '../../src/kernel/index.ts';
import { microkernel, step, type AuthorityEdge, type MicrokernelSystem, type StepResult, type SystemEvent } from '../../src/system/index.ts';
import { arbTraceCase, bootCase } from './arbitraries.ts';
import { boot, syscall } from './fixtures.ts';

const stepMk = (sys: MicrokernelSystem, e: SystemEvent): StepResult<KernelState> => step(microkernel, sys, e);

/** The view of domain `d` in a shape the unit tests read. */
interface ViewShape {
  readonly threads: readonly { readonly name: string; readonly state: string; readonly runnable: boolean; readonly pc: number; readonly regs: readonly number[] }[];
  readonly memory: readonly { readonly space: number; readonly pages: readonly { readonly va: number; readonly flags: number; readonly words: readonly (readonly [number, number])[] }[] }[];
}

const viewOf = (sys: MicrokernelSystem, d: string): ViewShape => microkernel.view(sys, d) as ViewShape;

/** Authority edges as "from>to" strings. */
const edges = (sys: MicrokernelSystem): string[] => microkernel.authority(sys).map((e: AuthorityEdge) => `${e.from}>${e.to}`).sort();

const edge = (sys: MicrokernelSystem, from: string, to: string): AuthorityEdge | undefined => microkernel.authority(sys).find((e) => e.from === from && e.to === to);

/** Two domains, each a thread with no caps at all: nothing to share. */
function twoDomains(a: Partial<KernelScenario['threads'][number]>, b: Partial<KernelScenario['threads'][number]>, objects: KernelScenario['objects'] = []): KernelScenario {
  return {
    domains: ['A', 'B'],
    objects,
    threads: [
      { name: 'a', domain: 'A', vspace: false, ...a },
      { name: 'b', domain: 'B', vspace: false, ...b },
    ],
  };
}

describe('MK-ISO-1 domains', () => {
  it('MK-ISO-1: the domains are the scenario\'s partitions, in order; by default one', () => {
    expect(microkernel.domains(boot({ domains: ['hi', 'lo', 'mid'], threads: [{ name: 't', domain: 'lo', vspace: false }] }))).toEqual(['hi', 'lo', 'mid']);
    expect(microkernel.domains(boot({ threads: [{ name: 't', vspace: false }] }))).toEqual(['default']);
  });

  it('MK-ISO-1: the domain a CPU runs is the domain of its current thread, or none when idle', () => {
    const sys = boot(twoDomains({ priority: 1 }, { priority: 2 }));
    expect(microkernel.runningDomain(sys, 0)).toBe('B');
    expect(microkernel.runningDomain(boot(twoDomains({ start: false }, { start: false })), 0)).toBeNull();
  });
});

describe('MK-ISO-2 views', () => {
  const scenario: KernelScenario = {
    domains: ['A', 'B'],
    objects: [{ name: 'shared', type: 'frame' }],
    threads: [
      { name: 'a1', domain: 'A', priority: 2, program: 'addi r3, r0, 7\nst r3, 0x200(r0)', pages: [{ va: 0x200, write: true }, { va: 0x300, frame: 'shared' }] },
      { name: 'a2', domain: 'A', priority: 1, vspace: false, regs: { r5: 55 } },
      { name: 'b1', domain: 'B', priority: 1, pages: [{ va: 0x400, frame: 'shared', write: true }] },
    ],
  };

  it('MK-ISO-2: a view holds exactly the domain\'s threads, with registers, pc and run state', () => {
    const sys = boot(scenario);
    const a = viewOf(sys, 'A');
    expect(a.threads.map((t) => t.name)).toEqual(['a1', 'a2']);
    expect(a.threads.find((t) => t.name === 'a2')).toMatchObject({ runnable: true, state: 'runnable', pc: 0x100 });
    expect(a.threads.find((t) => t.name === 'a2')!.regs[5]).toBe(55);
    expect(viewOf(sys, 'B').threads.map((t) => t.name)).toEqual(['b1']);
    expect(microkernel.view(sys, 'nowhere')).toBeNull();
  });

  it('MK-ISO-2: a view holds exactly the pages mapped in the domain\'s address spaces, with contents and permissions', () => {
    let sys = boot(scenario);
    const pagesOf = (d: string) => viewOf(sys, d).memory.flatMap((m) => m.pages.map((p) => p.va)).sort((x, y) => x - y);
    expect(pagesOf('A')).toEqual([0x100, 0x200, 0x300]);
    expect(pagesOf('B')).toEqual([0x400]);
    // a1 stores 7 at 0x200: its own page's contents change in A's view, not in B's.
    const before = viewOf(sys, 'B');
    sys = stepMk(stepMk(sys, { kind: 'exec', cpu: 0 }).system, { kind: 'exec', cpu: 0 }).system;
    const page = viewOf(sys, 'A').memory.flatMap((m) => m.pages).find((p) => p.va === 0x200)!;
    expect(page.words).toEqual([[0, 7]]);
    expect(viewOf(sys, 'B')).toEqual(before);
  });

  it('MK-ISO-2: a shared frame shows in both views; writes through it are seen by both', () => {
    let sys = boot({ ...scenario, threads: [{ ...scenario.threads[0]!, program: 'addi r3, r0, 9\nst r3, 0x300(r0)', pages: [{ va: 0x300, frame: 'shared', write: true }] }, scenario.threads[2]!] });
    sys = stepMk(stepMk(sys, { kind: 'exec', cpu: 0 }).system, { kind: 'exec', cpu: 0 }).system;
    const words = (d: string, va: number) => viewOf(sys, d).memory.flatMap((m) => m.pages).find((p) => p.va === va)?.words;
    expect(words('A', 0x300)).toEqual([[0, 9]]);
    expect(words('B', 0x400)).toEqual([[0, 9]]);
  });

  it('MK-ISO-2: which runnable thread is on the CPU is not observable (running and restart both read "runnable")', () => {
    const sys = boot(scenario);
    const states = viewOf(sys, 'A').threads.map((t) => t.state);
    expect(sys.state.objects.filter((o) => o?.type === 'tcb').map((o) => (o?.type === 'tcb' ? o.state.kind : '')).sort()).toContain('restart');
    expect(states).toEqual(['runnable', 'runnable']);
  });
});

describe('MK-ISO-3 authority', () => {
  it('MK-ISO-3: domains that share nothing have no edges', () => {
    expect(edges(boot(twoDomains({}, {})))).toEqual([]);
  });

  it('MK-ISO-3: a shared endpoint gives edges both ways, whatever the rights', () => {
    const sys = boot(twoDomains({ caps: [{ slot: 1, object: 'ep', rights: 'W' }] }, { caps: [{ slot: 1, object: 'ep', rights: 'R' }] }, [{ name: 'ep', type: 'endpoint' }]));
    expect(edges(sys)).toEqual(['A>B', 'B>A']);
    expect(edge(sys, 'A', 'B')!.via).toMatch(/endpoint/);
  });

  it('MK-ISO-3: a notification carries authority from signaller to receiver only', () => {
    const sys = boot(twoDomains({ caps: [{ slot: 1, object: 'n', rights: 'W' }] }, { caps: [{ slot: 1, object: 'n', rights: 'R' }] }, [{ name: 'n', type: 'notification' }]));
    expect(edges(sys)).toEqual(['A>B']);
    expect(edge(sys, 'A', 'B')!.via).toMatch(/notification/);
  });

  it('MK-ISO-3: a notification bound to a thread gives its signallers authority over that thread\'s domain', () => {
    let sys = boot(twoDomains({ caps: [{ slot: 1, object: 'n', rights: 'W' }] }, { priority: 1, caps: [{ slot: 1, object: 'n', rights: 'R' }, { slot: 2, object: 'b.tcb' }, { slot: 3, object: 'b.cspace' }] }, [{ name: 'n', type: 'notification' }]));
    // b binds the notification to itself, then deletes its own cap to it: the binding alone carries the edge.
    const cpu = 0;
    expect(sys.state.cpus[cpu]!.current).not.toBeNull();
    sys = syscall(sys, cpu, SYSCALL.CALL, { 1: 2, 2: encodeInfo({ label: INVOCATION.TCB_BIND_NOTIFICATION, capsUnwrapped: 0, extraCaps: 1, length: 0 }), 11: 1 }).system;
    sys = syscall(sys, cpu, SYSCALL.CALL, { 1: 3, 2: encodeInfo({ label: INVOCATION.CNODE_DELETE, capsUnwrapped: 0, extraCaps: 0, length: 1 }), 3: 1 }).system;
    expect(sys.state.objects.some((o) => o?.type === 'notification' && o.boundTcb !== null)).toBe(true);
    expect(edges(sys)).toEqual(['A>B']);
  });

  it('MK-ISO-3: a writable frame gives its writer authority over every holder; a read-only one none', () => {
    const frames = [{ name: 'f', type: 'frame' as const }];
    expect(edges(boot(twoDomains({ caps: [{ slot: 1, object: 'f', rights: 'RW' }] }, { caps: [{ slot: 1, object: 'f', rights: 'R' }] }, frames)))).toEqual(['A>B']);
    expect(edges(boot(twoDomains({ caps: [{ slot: 1, object: 'f', rights: 'R' }] }, { caps: [{ slot: 1, object: 'f', rights: 'R' }] }, frames)))).toEqual([]);
  });

  it('MK-ISO-3: a cap to another domain\'s TCB, CNode or VSpace gives authority over that domain', () => {
    expect(edges(boot(twoDomains({ caps: [{ slot: 1, object: 'b.tcb' }] }, {})))).toEqual(['A>B']);
    expect(edges(boot(twoDomains({ caps: [{ slot: 1, object: 'b.cspace' }] }, {})))).toEqual(['A>B']);
    // A pager: A holds B's VSpace. B holds a cap to it too (its own, from boot), so, as for any
    // VSpace both hold, the edge also goes back.
    const pager = boot(twoDomains({ caps: [{ slot: 1, object: 'b.vspace' }] }, { vspace: true }));
    expect(edges(pager)).toEqual(['A>B', 'B>A']);
    expect(edge(pager, 'A', 'B')!.via).toMatch(/pagetable/);
  });

  it('MK-ISO-3: a reply right gives its holder authority over the caller, cap or no cap', () => {
    // A serves an endpoint; B calls it; A then deletes its own cap to the endpoint. The reply right alone remains.
    let sys = boot(twoDomains({ priority: 2, caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'a.cspace' }] }, { priority: 1, caps: [{ slot: 1, object: 'ep', rights: 'WP' }] }, [{ name: 'ep', type: 'endpoint' }]));
    sys = syscall(sys, 0, SYSCALL.RECV, { 1: 1 }).system;
    sys = syscall(sys, 0, SYSCALL.CALL, { 1: 1, 2: 0 }).system;
    expect(microkernel.runningDomain(sys, 0)).toBe('A');
    sys = syscall(sys, 0, SYSCALL.CALL, { 1: 2, 2: encodeInfo({ label: INVOCATION.CNODE_DELETE, capsUnwrapped: 0, extraCaps: 0, length: 1 }), 3: 1 }).system;
    expect(edges(sys)).toEqual(['A>B']);
    expect(edge(sys, 'A', 'B')!.via).toBe('reply to b');
    // And the reply does change B's view: the edge is needed (MK-PROP-3).
    const before = microkernel.view(sys, 'B');
    expect(microkernel.view(syscall(sys, 0, SYSCALL.REPLY, { 2: 0 }).system, 'B')).not.toEqual(before);
  });

  it('MK-ISO-3: a thread queued on an endpoint counts as holding it, cap or no cap', () => {
    // b waits on the endpoint; b2, of the same domain, then deletes b's cap to it.
    const scenario: KernelScenario = {
      domains: ['A', 'B'],
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'a', domain: 'A', priority: 0, vspace: false, caps: [{ slot: 1, object: 'ep', rights: 'W' }] },
        { name: 'b', domain: 'B', priority: 2, vspace: false, caps: [{ slot: 1, object: 'ep', rights: 'R' }] },
        { name: 'b2', domain: 'B', priority: 1, vspace: false, caps: [{ slot: 1, object: 'b.cspace' }] },
      ],
    };
    let sys = boot(scenario);
    sys = syscall(sys, 0, SYSCALL.RECV, { 1: 1 }).system;
    sys = syscall(sys, 0, SYSCALL.CALL, { 1: 1, 2: encodeInfo({ label: INVOCATION.CNODE_DELETE, capsUnwrapped: 0, extraCaps: 0, length: 1 }), 3: 1 }).system;
    expect(sys.state.objects.some((o) => o?.type === 'tcb' && o.name === 'b' && o.state.kind === 'blockedOnReceive')).toBe(true);
    expect(edges(sys)).toEqual(['A>B', 'B>A']);
  });

  it('MK-ISO-1: a thread cannot move a thread into another domain (TCB_Configure MR4, a MK-PROP-3 counterexample)', () => {
    const NONE = 0xffffffff;
    let sys = boot(twoDomains({ priority: 1, caps: [{ slot: 1, object: 'a.tcb' }] }, {}));
    const viewB = microkernel.view(sys, 'B');
    const configure = (domain: number) => syscall(sys, 0, SYSCALL.CALL, { 1: 1, 2: encodeInfo({ label: INVOCATION.TCB_CONFIGURE, capsUnwrapped: 0, extraCaps: 0, length: 5 }), 3: NONE, 4: NONE, 5: NONE, 6: NONE, 7: domain });
    const moved = configure(1);
    expect(moved.observations).toContainEqual(expect.objectContaining({ kind: 'error', values: [ERROR.ILLEGAL_OPERATION] }));
    expect(microkernel.view(moved.system, 'B')).toEqual(viewB);
    sys = configure(0).system;
    expect(sys.state.objects.find((o) => o?.type === 'tcb' && o.name === 'a')).toMatchObject({ domain: 0 });
  });

  it('MK-ISO-1: a TCB made by Retype belongs to the domain of the thread that made it', () => {
    const scenario: KernelScenario = {
      domains: ['A', 'B'],
      threads: [
        { name: 'a', domain: 'A', priority: 0, vspace: false },
        { name: 'b', domain: 'B', priority: 1, vspace: false },
      ],
      untyped: [{ thread: 'b', slot: 1, sizeBits: 8 }],
    };
    let sys = boot(scenario);
    const viewA = microkernel.view(sys, 'A');
    sys = syscall(sys, 0, SYSCALL.CALL, { 1: 1, 2: encodeInfo({ label: INVOCATION.UNTYPED_RETYPE, capsUnwrapped: 0, extraCaps: 0, length: 4 }), 3: 1, 4: 0, 5: 2, 6: 1 }).system;
    const made = sys.state.objects.filter((o) => o?.type === 'tcb' && o.name === '');
    expect(made).toHaveLength(1);
    expect(made[0]!.type === 'tcb' && made[0]!.domain).toBe(1);
    expect(microkernel.view(sys, 'A')).toEqual(viewA);
    expect((microkernel.view(sys, 'B') as ViewShape).threads).toHaveLength(2);
  });

  it('MK-ISO-3: the holder of an IRQ handler has authority over the domain its line signals', () => {
    const scenario = twoDomains(
      { priority: 2, caps: [{ slot: 1, object: 'irqcontrol' }, { slot: 2, object: 'n', rights: 'W' }, { slot: 3, object: 'a.cspace' }] },
      { priority: 1, caps: [{ slot: 1, object: 'n', rights: 'R' }] },
      [{ name: 'n', type: 'notification' }],
    );
    let sys = boot(scenario);
    const call = (regs: Record<number, number>) => (sys = syscall(sys, 0, SYSCALL.CALL, regs).system);
    // IRQControl_Get(line 4, slot 5); IRQHandler_SetNotification(n in slot 2); then A drops its cap to n.
    call({ 1: 1, 2: encodeInfo({ label: INVOCATION.IRQ_CONTROL_GET, capsUnwrapped: 0, extraCaps: 0, length: 2 }), 3: 4, 4: 5 });
    call({ 1: 5, 2: encodeInfo({ label: INVOCATION.IRQ_HANDLER_SET_NOTIFICATION, capsUnwrapped: 0, extraCaps: 1, length: 0 }), 11: 2 });
    call({ 1: 3, 2: encodeInfo({ label: INVOCATION.CNODE_DELETE, capsUnwrapped: 0, extraCaps: 0, length: 1 }), 3: 2 });
    expect(sys.state.irqs[4]!.target).not.toBeNull();
    expect(edges(sys)).toEqual(['A>B']);
    expect(edge(sys, 'A', 'B')!.via).toBe('irq 4');
  });
});

// ---------------------------------------------------------------------------------------
// MK-PROP-3
// ---------------------------------------------------------------------------------------

/** Steps that a thread caused: it retired an instruction or trapped into the kernel with one. */
const causedByThread = (r: StepResult<KernelState>): boolean => r.record?.status === 'retired' || r.record?.status === 'trapped';

describe('MK-PROP-3 integrity', () => {
  it('MK-PROP-3: scheduling another domain\'s restarted thread does not change its view (MK-OBJ-4: a restart thread\'s pc is its restart point)', () => {
    // B's sender b is cancelled (restart) by b2 at a lower priority than A's thread a; a then
    // blocks, and the scheduler runs b. a holds nothing B holds: B's view must not move.
    const call = (sys: MicrokernelSystem, n: number, regs: Record<number, number>) => syscall(sys, 0, n, regs).system;
    let sys = boot({
      domains: ['A', 'B'],
      objects: [{ name: 'ep', type: 'endpoint' }, { name: 'aep', type: 'endpoint' }, { name: 'bep', type: 'endpoint' }],
      threads: [
        { name: 'b', domain: 'B', priority: 3, vspace: false, caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'ep', rights: 'W', badge: 5 }] },
        { name: 'b2', domain: 'B', priority: 2, vspace: false, caps: [{ slot: 1, object: 'b.cspace' }, { slot: 2, object: 'b.tcb' }, { slot: 3, object: 'bep' }] },
        { name: 'a', domain: 'A', priority: 1, vspace: false, caps: [{ slot: 1, object: 'aep' }] },
      ],
    });
    sys = call(sys, SYSCALL.SEND, { 1: 2 });
    sys = call(sys, SYSCALL.CALL, { 1: 2, 2: encodeInfo({ label: INVOCATION.TCB_SET_PRIORITY, capsUnwrapped: 0, extraCaps: 0, length: 1 }), 3: 0 });
    sys = call(sys, SYSCALL.CALL, { 1: 1, 2: encodeInfo({ label: INVOCATION.CNODE_CANCEL_BADGED_SENDS, capsUnwrapped: 0, extraCaps: 0, length: 1 }), 3: 2 });
    sys = call(sys, SYSCALL.RECV, { 1: 3 });
    expect(microkernel.runningDomain(sys, 0)).toBe('A');
    expect(edges(sys)).toEqual([]);
    const before = microkernel.view(sys, 'B');
    const after = call(sys, SYSCALL.RECV, { 1: 1 });
    expect(microkernel.runningDomain(after, 0)).toBe('B');
    expect(microkernel.view(after, 'B')).toStrictEqual(before);
  });


  it('MK-PROP-3: a step caused by a thread of domain a changes the view of no domain b without an edge a → b', () => {
    fc.assert(
      fc.property(arbTraceCase(), (c) => {
        let sys = bootCase(c);
        const domains = microkernel.domains(sys);
        c.events.forEach((e, i) => {
          if (e.kind !== 'exec') {
            sys = stepMk(sys, e).system;
            return;
          }
          const a = microkernel.runningDomain(sys, e.cpu);
          const authority = microkernel.authority(sys);
          const unaffected = domains.filter((b) => b !== a && !authority.some((x) => x.from === a && x.to === b));
          const before = unaffected.map((b) => microkernel.view(sys, b));
          const r = stepMk(sys, e);
          if (a !== null && causedByThread(r)) {
            unaffected.forEach((b, j) => {
              expect(microkernel.view(r.system, b), `event ${i} (${JSON.stringify(e)}) by ${a} changed ${b}'s view`).toStrictEqual(before[j]);
            });
          }
          sys = r.system;
        });
      }),
      // Three times the profile: integrity needs a step across a missing edge, and about half
      // the steps of random scenarios have one.
      { numRuns: Math.round((fc.readConfigureGlobal().numRuns ?? 100) * 3) },
    );
  });
});

