/**
 * The hypervisor's invariants (HV-INV-1..10), each returning its violations.
 *
 * @module
 */
import { PTE, readWord, SYS, baseRoot, baseTag, NO_VMID, type Machine } from '../hw/index.ts';
import { FREE, HYPERVISOR, type Domain, type HypervisorState } from './types.ts';
import { liveDomains, stage2Mappings } from './views.ts';

/** HV-INV-1: each host frame has exactly one owner, and the owner's records agree; free frames are zero. */
function frameOwnership(m: Machine, h: HypervisorState): string[] {
  const out: string[] = [];
  const claimed = new Map<number, string>();
  const claim = (f: number, who: string) => {
    if (claimed.has(f)) out.push(`frame ${f} is claimed by ${claimed.get(f)} and ${who}`);
    claimed.set(f, who);
  };
  for (const d of liveDomains(h)) {
    for (const [gfn, mfn] of d.p2m) {
      claim(mfn, `${d.name} page ${gfn}`);
      if (h.frameOwner[mfn] !== d.id) out.push(`frame ${mfn} is ${d.name}'s page ${gfn} but owned by ${h.frameOwner[mfn]}`);
    }
    for (const t of [d.s2root, ...d.s2tables]) {
      claim(t, `${d.name}'s stage-2 tables`);
      if (h.frameOwner[t] !== HYPERVISOR) out.push(`stage-2 table frame ${t} of ${d.name} is not the hypervisor's`);
    }
  }
  const wpf = m.geometry.config.wordsPerFrame;
  h.frameOwner.forEach((owner, f) => {
    if (owner === FREE) {
      if (claimed.has(f)) out.push(`free frame ${f} is in use by ${claimed.get(f)}`);
      for (let i = 0; i < wpf; i++) {
        if (readWord(m.memory, f * wpf + i) !== 0) {
          out.push(`free frame ${f} is not scrubbed`);
          break;
        }
      }
    } else if (!claimed.has(f)) {
      out.push(`frame ${f} is owned by ${owner} but in no domain's records`);
    }
  });
  return out;
}

/**
 * HV-INV-2: every stage-2 mapping of a domain reaches its own page, or a page granted to it
 * and recorded in its maptrack, with no more rights than the grant; nothing else — in
 * particular no stage-2 table and no other domain's page.
 */
function stage2Isolation(m: Machine, h: HypervisorState): string[] {
  const out: string[] = [];
  for (const d of liveDomains(h)) {
    const devicePages = new Set(d.devices.map((i) => m.geometry.firstDevicePage + i));
    for (const { gfn, mfn, flags } of stage2Mappings(m, d)) {
      if (d.p2m.get(gfn) === mfn) continue;
      if (devicePages.has(mfn)) continue;
      const track = d.maptrack.find((t) => t !== null && t.gfn === gfn && t.mfn === mfn);
      if (track === undefined || track === null) {
        out.push(`${d.name} maps page ${gfn} to frame ${mfn}, which is neither its own nor granted to it`);
        continue;
      }
      const granter = h.domains[track.granter];
      const grant = granter?.grants[track.ref] ?? null;
      if (grant === null || grant.grantee !== d.id || granter?.p2m.get(grant.gfn) !== mfn) out.push(`${d.name}'s mapping of ${gfn} names a grant that does not give it frame ${mfn}`);
      else if ((flags & PTE.W) !== 0 && (grant.readonly || track.readonly)) out.push(`${d.name} can write read-only granted page ${gfn}`);
    }
  }
  return out;
}

/**
 * HV-INV-3: grant map counts equal the live mappings of each grant; a mapped grant's page is
 * still the granter's; every maptrack entry names a live grant to its domain of the frame it
 * maps (else a new grant under a freed reference would inherit the stale mapping's count).
 */
function grantCounts(_m: Machine, h: HypervisorState): string[] {
  const out: string[] = [];
  const live = liveDomains(h);
  for (const d of live) {
    d.grants.forEach((g, ref) => {
      if (g === null) return;
      const mappings = live.reduce((n, o) => n + o.maptrack.filter((t) => t !== null && t.granter === d.id && t.ref === ref).length, 0);
      if (mappings !== g.mapCount) out.push(`${d.name}'s grant ${ref} counts ${g.mapCount} mappings but has ${mappings}`);
      if (g.mapCount > 0 && !d.p2m.has(g.gfn)) out.push(`${d.name}'s grant ${ref} is mapped but its page ${g.gfn} is gone`);
    });
    d.maptrack.forEach((t, handle) => {
      if (t === null) return;
      const granter = live.find((o) => o.id === t.granter);
      const g = granter?.grants[t.ref] ?? null;
      if (granter === undefined || g === null || g.grantee !== d.id || granter.p2m.get(g.gfn) !== t.mfn) {
        out.push(`${d.name}'s mapping ${handle} names grant ${t.ref} of domain ${t.granter}, which grants it no such frame`);
      }
    });
  }
  return out;
}

/** HV-INV-4: event channels connect exactly their bound pair; physical-interrupt routes name their port. */
function eventChannels(_m: Machine, h: HypervisorState): string[] {
  const out: string[] = [];
  for (const d of liveDomains(h)) {
    d.ports.forEach((p, port) => {
      if (p === null) return;
      if (p.vcpu < 0 || p.vcpu >= d.vcpus.length) out.push(`${d.name}'s port ${port} notifies a vCPU it lacks`);
      if (p.binding.kind === 'interdomain') {
        const r = h.domains[p.binding.remote];
        const rp = r === null || r === undefined || r.lifecycle === 'destroyed' ? null : (r.ports[p.binding.remotePort] ?? null);
        if (rp?.binding.kind !== 'interdomain' || rp.binding.remote !== d.id || rp.binding.remotePort !== port) {
          out.push(`${d.name}'s port ${port} is not connected back`);
        }
      }
      if (p.binding.kind === 'pirq') {
        const route = h.pirqs[p.binding.line];
        if (route?.dom !== d.id || route.port !== port) out.push(`${d.name}'s port ${port} is bound to line ${p.binding.line}, which routes elsewhere`);
      }
    });
  }
  return out;
}

/** HV-INV-5: each vCPU is in exactly one scheduler state, and the run queue and pCPUs agree with it. */
function vcpuStates(_m: Machine, h: HypervisorState): string[] {
  const out: string[] = [];
  const queued = new Map<string, number>();
  for (const q of h.runq) queued.set(`${q.dom}.${q.vcpu}`, (queued.get(`${q.dom}.${q.vcpu}`) ?? 0) + 1);
  const current = new Map<string, number>();
  h.pcpus.forEach((p, c) => {
    if (p.current !== null) {
      const key = `${p.current.dom}.${p.current.vcpu}`;
      if (current.has(key)) out.push(`vCPU ${key} is current on two pCPUs`);
      current.set(key, c);
    }
  });
  for (const d of h.domains) {
    if (d === null) continue;
    d.vcpus.forEach((v) => {
      const key = `${d.id}.${v.id}`;
      const inQueue = queued.get(key) ?? 0;
      const onCpu = current.has(key);
      if (inQueue > 1) out.push(`vCPU ${key} is queued twice`);
      if (d.lifecycle === 'destroyed' || d.lifecycle === 'saved') {
        if (inQueue > 0 || onCpu) out.push(`vCPU ${key} of a ${d.lifecycle} domain is scheduled`);
        return;
      }
      const ok =
        (v.state === 'running' && onCpu && inQueue === 0) ||
        (v.state === 'runnable' && !onCpu && inQueue === 1) ||
        ((v.state === 'blocked' || v.state === 'offline') && !onCpu && inQueue === 0);
      if (!ok) out.push(`vCPU ${key} is ${v.state} but ${onCpu ? 'on a pCPU' : 'off the pCPUs'} and queued ${inQueue} times`);
      if (onCpu && v.affinity !== current.get(key)) out.push(`vCPU ${key} runs off its pCPU`);
    });
  }
  return out;
}

/** HV-INV-6: exactly one live domain holds control authority, and it is domain 0's role alone. */
function controlAuthority(_m: Machine, h: HypervisorState): string[] {
  const privileged = liveDomains(h).filter((d) => d.privileged);
  return privileged.length === 1 ? [] : [`${privileged.length} live domains hold control authority`];
}

/** HV-INV-7: VMIDs and stage-2 roots of live domains are distinct. */
function distinctTags(_m: Machine, h: HypervisorState): string[] {
  const out: string[] = [];
  const vmids = new Set<number>();
  const roots = new Set<number>();
  for (const d of liveDomains(h)) {
    if (d.lifecycle === 'saved') continue;
    if (vmids.has(d.vmid)) out.push(`VMID ${d.vmid} is used twice`);
    if (roots.has(d.s2root)) out.push(`stage-2 root ${d.s2root} is used twice`);
    vmids.add(d.vmid);
    roots.add(d.s2root);
  }
  return out;
}

/**
 * HV-INV-8: every TLB entry belongs to a live domain's VMID and agrees with its current
 * stage-2 mapping — no stale entry survives an unmap, a grant's end or a domain's death.
 */
function tlbConsistent(m: Machine, h: HypervisorState): string[] {
  const out: string[] = [];
  const byVmid = new Map<number, Domain>();
  for (const d of liveDomains(h)) if (d.lifecycle !== 'saved') byVmid.set(d.vmid, d);
  const maps = new Map<number, Map<number, { mfn: number; flags: number }>>();
  m.cpus.forEach((cpu, c) => {
    for (const e of cpu.tlb.entries) {
      if (e.vmid === NO_VMID) {
        out.push(`pCPU ${c} caches a translation made with stage 2 off`);
        continue;
      }
      const d = byVmid.get(e.vmid);
      if (d === undefined) {
        out.push(`pCPU ${c} caches VMID ${e.vmid}, which no live domain uses`);
        continue;
      }
      if (!maps.has(d.id)) maps.set(d.id, new Map(stage2Mappings(m, d).map((p) => [p.gfn, { mfn: p.mfn, flags: p.flags }])));
      const now = maps.get(d.id)!.get(e.ipn);
      if (now === undefined || now.mfn !== e.ppn || (e.s2 & ~now.flags & 0xf) !== 0) out.push(`pCPU ${c} caches a stale translation of ${d.name}'s page ${e.ipn}`);
    }
  });
  return out;
}

/** HV-INV-9: each device's DMA goes through the stage-2 table of the one domain it is assigned to, or nowhere. */
function iommuIsolation(m: Machine, h: HypervisorState): string[] {
  const out: string[] = [];
  m.iommu.roots.forEach((root, dev) => {
    const owners = liveDomains(h).filter((d) => d.devices.includes(dev));
    if (owners.length > 1) out.push(`device ${dev} is assigned to ${owners.length} domains`);
    if (root < 0) return;
    if (owners.length !== 1 || owners[0]!.s2root !== root) out.push(`device ${dev} DMAs through table ${root}, not its domain's`);
  });
  return out;
}

/** HV-INV-10: each pCPU runs its current vCPU under that domain's stage 2 and VMID, or idles at EL2. */
function pcpus(m: Machine, h: HypervisorState): string[] {
  const out: string[] = [];
  h.pcpus.forEach((p, c) => {
    const cpu = m.cpus[c]!;
    if (p.current === null) {
      if (cpu.el !== 2) out.push(`idle pCPU ${c} is at EL${cpu.el}`);
      return;
    }
    const d = h.domains[p.current.dom];
    if (d === null || d === undefined || d.lifecycle !== 'running') {
      out.push(`pCPU ${c} runs a vCPU of a domain that is not running`);
      return;
    }
    const vttbr = cpu.sys[SYS.VTTBR_EL2]!;
    if (cpu.el === 2 || baseRoot(vttbr) !== d.s2root || baseTag(vttbr) !== d.vmid) out.push(`pCPU ${c} runs ${d.name} outside its stage 2`);
  });
  return out;
}

export const HYPERVISOR_INVARIANTS = [
  { name: 'frame_ownership', check: frameOwnership },
  { name: 'stage2_isolation', check: stage2Isolation },
  { name: 'grant_counts', check: grantCounts },
  { name: 'event_channels', check: eventChannels },
  { name: 'vcpu_states', check: vcpuStates },
  { name: 'control_authority', check: controlAuthority },
  { name: 'distinct_tags', check: distinctTags },
  { name: 'tlb_consistent', check: tlbConsistent },
  { name: 'iommu_isolation', check: iommuIsolation },
  { name: 'pcpus', check: pcpus },
] as const;

export function checkHvInvariants(m: Machine, h: HypervisorState): { name: string; violations: string[] }[] {
  return HYPERVISOR_INVARIANTS.map((inv) => ({ name: inv.name, violations: inv.check(m, h) }));
}
