import { FUNCTIONS, type FunctionSpec } from '../../shared/contracts/functions';
import { cpuMemoryProblems, MAX_REQUESTS_PER_INSTANCE } from '../../infra-cdktf/modules/functions';

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
  // Each memory tier at its edge: the tier's minimum CPU accepted at the tier's top, refused one MiB above.
  test.each([
    [128, 0.083, 0.167],
    [256, 0.167, 0.333],
    [512, 0.333, 0.583],
    [1024, 0.583, 1],
    [4096, 1, 2],
    [8192, 2, 4],
    [16384, 4, 6],
    [24576, 6, 8],
  ])('%i MiB runs on %d vCPU; one MiB more needs %d', (mem, vcpu, next) => {
    expect(cpuMemoryProblems({ name: 'f', memoryMb: mem, vcpu }, 1)).toEqual([]);
    expect(cpuMemoryProblems({ name: 'f', memoryMb: mem + 1, vcpu }, 1)).toContain(`f: ${mem + 1} MiB needs at least ${next} vCPU, not ${vcpu}`);
  });

  // The whole list of problems, word for word: each rule at its edge.
  test.each([
    [{ memoryMb: 128, vcpu: 0.079 }, 1, ['f: vcpu 0.079 is not a Cloud Run CPU value (0.08–1 in steps of 0.001, or 1–8 whole)', 'f: 128 MiB needs at least 0.083 vCPU, not 0.079']],
    [{ memoryMb: 128, vcpu: 0.08 }, 1, ['f: 128 MiB needs at least 0.083 vCPU, not 0.08']],
    [{ memoryMb: 256, vcpu: 0.3335 }, 1, ['f: vcpu 0.3335 is not a Cloud Run CPU value (0.08–1 in steps of 0.001, or 1–8 whole)']],
    [{ memoryMb: 32768, vcpu: 8 }, 1, []],
    [{ memoryMb: 32768, vcpu: 9 }, 1, ['f: vcpu 9 is not a Cloud Run CPU value (0.08–1 in steps of 0.001, or 1–8 whole)']],
    [{ memoryMb: 512, vcpu: 1 }, 4, []],
    [{ memoryMb: 1024, vcpu: 0.999 }, 1, []],
    [{ memoryMb: 512, vcpu: 0.999 }, 2, ['f: below 1 vCPU an instance serves one request at a time, not 2']],
    [{ memoryMb: 513, vcpu: 0.499 }, 1, ['f: 513 MiB needs at least 0.583 vCPU, not 0.499', 'f: below 0.5 vCPU the memory may not exceed 512 MiB (513 MiB)']],
    [{ memoryMb: 513, vcpu: 0.5 }, 1, ['f: 513 MiB needs at least 0.583 vCPU, not 0.5']],
    [{ memoryMb: 1025, vcpu: 0.999 }, 1, ['f: 1025 MiB needs at least 1 vCPU, not 0.999', 'f: below 1 vCPU the memory may not exceed 1 GiB (1025 MiB)']],
    [{ memoryMb: 2047, vcpu: 4 }, 1, ['f: 4 vCPU needs at least 2048 MiB (2047 MiB)']],
    [{ memoryMb: 2048, vcpu: 4 }, 1, []],
    [{ memoryMb: 4095, vcpu: 6 }, 1, ['f: 6 vCPU needs at least 4096 MiB (4095 MiB)']],
    [{ memoryMb: 4096, vcpu: 6 }, 1, []],
    [{ memoryMb: 256, vcpu: 3 }, 1, []],
  ])('%j with %i request(s) per instance: exactly these problems', (sizing, requests, problems) => {
    expect(cpuMemoryProblems({ name: 'f', ...sizing }, requests)).toEqual(problems);
  });

  test('one request per instance unless told otherwise; no vcpu set: Cloud Run derives it, nothing to check', () => {
    expect(MAX_REQUESTS_PER_INSTANCE).toBe(1);
    expect(cpuMemoryProblems({ name: 'f', memoryMb: 256, vcpu: 0.333 })).toEqual([]);
    expect(cpuMemoryProblems({ name: 'f', memoryMb: 99_999 }, 8)).toEqual([]);
  });
});
