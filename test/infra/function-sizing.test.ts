import { FUNCTIONS, type FunctionSpec } from '../../shared/contracts/functions';
import { cpuMemoryProblems } from '../../infra-cdktf/modules/functions';

/** Cloud Run's memory/CPU rules (cited in infra-cdktf/modules/functions.ts), checked on the specs and on sizings it refuses. */
describe('function sizing', () => {
  test('every spec is a sizing Cloud Run accepts', () => {
    expect((Object.values(FUNCTIONS) as FunctionSpec[]).flatMap((s) => cpuMemoryProblems(s))).toEqual([]);
  });

  test('the extract function runs in 256 MiB with 1/3 vCPU set explicitly (the CPU 512 MiB gave implicitly)', () => {
    const spec: FunctionSpec = FUNCTIONS.extract;
    expect([spec.memoryMb, spec.vcpu]).toEqual([256, 0.333]);
  });

  test.each([
    [{ memoryMb: 256, vcpu: 0.1 }, 1, /256 MiB needs at least 0.167 vCPU/],
    [{ memoryMb: 1024, vcpu: 0.4 }, 1, /below 0.5 vCPU the memory may not exceed 512 MiB/],
    [{ memoryMb: 2048, vcpu: 0.9 }, 1, /below 1 vCPU the memory may not exceed 1 GiB/],
    [{ memoryMb: 256, vcpu: 0.333 }, 4, /one request at a time, not 4/],
    [{ memoryMb: 256, vcpu: 0.3333 }, 1, /not a Cloud Run CPU value/],
    [{ memoryMb: 256, vcpu: 1.5 }, 1, /not a Cloud Run CPU value/],
    [{ memoryMb: 1024, vcpu: 4 }, 1, /4 vCPU needs at least 2048 MiB/],
    [{ memoryMb: 8192, vcpu: 1 }, 1, /8192 MiB needs at least 2 vCPU/],
  ])('refuses %j (requests per instance %i)', (sizing, requests, problem) => {
    expect(cpuMemoryProblems({ name: 'f', ...sizing }, requests).join('\n')).toMatch(problem);
  });

  test.each([[{ memoryMb: 256, vcpu: 0.167 }], [{ memoryMb: 256, vcpu: 1 }], [{ memoryMb: 512, vcpu: 0.08 + 0.253 }], [{ memoryMb: 2048, vcpu: 2 }], [{ memoryMb: 512 }]])(
    'accepts %j',
    (sizing) => {
      expect(cpuMemoryProblems({ name: 'f', ...sizing }, 1)).toEqual([]);
    },
  );
});
