/**
 * Isolation domains, views and authority for the hypervisor (HV-ISO-1..3). The isolation
 * units are the domains. A domain observes its vCPUs (registers, pc, level, EL1 registers,
 * virtual interrupts, whether each can run), every page its stage 2 maps (its own and the
 * grants it mapped) with contents and permissions, its console, its grant table and its
 * ports. Authority comes from the control domain's power over every domain, from grants and
 * from event channels.
 *
 * @module
 */
import { PTE, ptePpn, readWord, type Machine } from '../hw/index.ts';
import { VIRQ } from './abi.ts';
import type { DomId, Domain, HypervisorState } from './types.ts';
import { EL1_BANK, liveVcpuContext } from './vcpu.ts';

/** Live domains — those holding resources: not destroyed, not saved — in id order (HV-ISO-1). */
export function liveDomains(h: HypervisorState): Domain[] {
  return h.domains.filter((d): d is Domain => d !== null && d.lifecycle !== 'destroyed' && d.lifecycle !== 'saved');
}

/** Every present stage-2 mapping of `dom`: guest page, host page, flags. */
export function stage2Mappings(m: Machine, dom: Domain): { gfn: number; mfn: number; flags: number }[] {
  const geo = m.geometry;
  const { pageTableLevels: levels, pageTableIndexBits: bits, wordsPerFrame } = geo.config;
  const out: { gfn: number; mfn: number; flags: number }[] = [];
  const walk = (table: number, level: number, base: number): void => {
    if (table >= geo.config.frames) return;
    for (let i = 0; i < 2 ** bits; i++) {
      const e = readWord(m.memory, table * wordsPerFrame + i);
      if ((e & PTE.P) === 0) continue;
      const gfn = base + i * 2 ** (bits * (levels - 1 - level));
      if (level === levels - 1) out.push({ gfn, mfn: ptePpn(e), flags: e & 0xf });
      else walk(ptePpn(e), level + 1, gfn);
    }
  };
  walk(dom.s2root, 0, 0);
  return out;
}

function contents(m: Machine, mfn: number): [number, number][] {
  const wpf = m.geometry.config.wordsPerFrame;
  const out: [number, number][] = [];
  if (mfn >= m.geometry.config.frames) return out;
  for (let i = 0; i < wpf; i++) {
    const v = readWord(m.memory, mfn * wpf + i);
    if (v !== 0) out.push([i, v]);
  }
  return out;
}

/** What domain `name` observes (HV-ISO-2); independent of its domain id, so a restored copy compares equal. */
export function hvDomainView(m: Machine, h: HypervisorState, name: string): unknown {
  const dom = liveDomains(h).find((d) => d.name === name);
  if (dom === undefined) return null;
  const w = { m, h };
  return {
    lifecycle: dom.lifecycle === 'created' || dom.lifecycle === 'paused' ? 'stopped' : dom.lifecycle,
    vcpus: dom.vcpus.map((v) => {
      const ctx = liveVcpuContext(w, dom.id, v.id);
      return {
        state: v.state === 'running' || v.state === 'runnable' ? 'runnable' : v.state,
        el: ctx.el,
        pc: ctx.pc,
        regs: ctx.regs,
        irqMasked: ctx.irqMasked,
        // HV-ISO-2: every banked register, 0 where a vCPU that never ran has none saved — so
        // the view does not tell whether the vCPU has been on a pCPU yet.
        sys: EL1_BANK.map((r) => [String(r), ctx.sys[r] ?? 0]),
        virq: [ctx.vPending, ctx.vActive],
      };
    }),
    memory: stage2Mappings(m, dom).map((p) => ({ gfn: p.gfn, flags: p.flags, words: contents(m, p.mfn) })),
    console: dom.console,
    grants: dom.grants.map((g) => (g === null ? null : { gfn: g.gfn, readonly: g.readonly, grantee: nameOf(h, g.grantee) })),
    ports: dom.ports.map((p) => (p === null ? null : { kind: p.binding.kind, pending: p.pending, masked: p.masked })),
    vblk: dom.vblk,
  };
}

function nameOf(h: HypervisorState, d: DomId): string {
  return h.domains[d]?.name ?? `#${d}`;
}

/**
 * Who may affect whom (HV-ISO-3): the control domain → every domain; a granter and its
 * grantee, both ways (the grantee reads or writes the page; the granter writes it and may
 * end the grant); the two ends of an event channel, both ways, and a domain and the domain it
 * opened an unbound port for; a read-write grantee of a page → every other grantee of it; every
 * domain → the control domain once it has bound DOM_EXC.
 */
export function hvAuthority(h: HypervisorState): { from: string; to: string; via: string }[] {
  const edges = new Map<string, { from: string; to: string; via: string }>();
  const add = (a: DomId, b: DomId, via: string) => {
    if (a === b) return;
    const from = nameOf(h, a);
    const to = nameOf(h, b);
    const key = `${from}>${to}`;
    if (!edges.has(key)) edges.set(key, { from, to, via });
  };
  const live = liveDomains(h);
  for (const d of live) {
    if (d.privileged) for (const o of live) add(d.id, o.id, 'control');
    // HV-EVT-2: once the control domain binds DOM_EXC, every domain's shutdown, crash or
    // destruction makes that port pending — every domain may affect it.
    if (d.privileged && d.ports.some((p) => p?.binding.kind === 'virq' && p.binding.virq === VIRQ.DOM_EXC)) for (const o of live) add(o.id, d.id, 'DOM_EXC');
    d.grants.forEach((g, ref) => {
      if (g === null || h.domains[g.grantee] === null) return;
      add(d.id, g.grantee, `grant ${ref}`);
      add(g.grantee, d.id, `grant ${ref}`);
      // A page granted to several domains is shared by all of them: a read-write grantee may
      // affect every other grantee of that page (HV-GNT-3, HV-GNT-6).
      if (!g.readonly) {
        d.grants.forEach((o) => {
          if (o !== null && o.gfn === g.gfn && h.domains[o.grantee] !== null) add(g.grantee, o.grantee, `grant ${ref}`);
        });
      }
    });
    d.ports.forEach((p, port) => {
      if (p === null) return;
      if (p.binding.kind === 'interdomain' || p.binding.kind === 'unbound') {
        add(d.id, p.binding.remote, `port ${port}`);
        add(p.binding.remote, d.id, `port ${port}`);
      }
    });
  }
  return [...edges.values()];
}
