import fs from 'node:fs';
import path from 'node:path';
import { WORKFLOW_FILE } from '../../infra-cdktf/limits-cli';
import { usage, workflowSteps } from '../../infra-cdktf/limits-model';
import { readEnvironmentConfig, readRegistry } from '../../infra-cdktf/inputs';
import { FUNCTIONS } from '../../shared/contracts/functions';
import { repoRoot } from './support/synth';

/**
 * infra-cdktf/limits-model.ts without a stack: how workflow steps are counted (on a workflow
 * written here with every construct the walker knows), and usage figures computed by hand for the
 * dev deployment. limits.test.ts checks the model against three synthesized 650-municipality stacks.
 */

const WORKFLOW = `
main:
  steps:
    - init:
        assign: []
    - nothing: null
    - perMunicipality:
        for:
          value: m
          in: \${municipalities}
          steps:
            - log:
                call: sys.log
            - guarded:
                try:
                  steps:
                    - get:
                        call: http.get
                except:
                  as: e
                  steps:
                    - note:
                        call: sys.log
    - pages:
        for:
          value: p
          in: \${pages}
          steps:
            - one:
                call: sys.log
    - fan:
        parallel:
          branches:
            - left:
                steps:
                  - l1:
                      call: sys.log
          for:
            value: m
            in: \${municipalities_page}
            steps:
              - p1:
                  call: sys.log
    - grouped:
        steps:
          - g1:
              call: sys.log
    - choose:
        switch:
          - condition: true
            steps:
              - s1:
                  call: sys.log
    - listed:
        for:
          value: x
          in: [municipalities]
          steps:
            - x1:
                call: sys.log
    - 42
    - null
    - odd:
        for: null
        try: null
        except: null
        parallel: null
    - text: just text
    - fan2:
        parallel:
          branches:
            - right:
                steps:
                  - r1:
                      call: sys.log
    - fan3:
        parallel:
          for:
            value: p
            in: \${pages}
            steps:
              - q1:
                  call: sys.log
`;

describe('workflowSteps', () => {
  test('steps inside a for over municipalities count per municipality (try, except and parallel for included); the rest once', () => {
    // fixed: init, nothing, perMunicipality, pages, one, fan, l1, grouped, g1, choose, s1, listed, x1,
    // odd, text, fan2, r1, fan3, q1 (entries that are not objects are not steps)
    // per municipality: log, guarded, get, note, p1 (a loop whose `in` is not an expression is not one)
    expect(workflowSteps(WORKFLOW)).toEqual({ fixed: 19, perMunicipality: 5 });
  });

  test('a workflow without main has no steps', () => {
    expect(workflowSteps('other:\n  steps: []\n')).toEqual({ fixed: 0, perMunicipality: 0 });
  });
});

describe('usage, dev deployment (3 municipalities, maxExtractInstances 5)', () => {
  const config = readEnvironmentConfig(repoRoot, 'dev');
  const registry = readRegistry(path.resolve(repoRoot, config.registryFile));
  const workflow = fs.readFileSync(WORKFLOW_FILE, 'utf8');

  test('function memory: Σ instances × memory, extract capped by the config', () => {
    expect(config.maxExtractInstances).toBe(5);
    // fan-out 256 × 2, extract 256 × 5, load 512 × 1, run-status 256 × 5, run-report 512 × 2.
    expect([FUNCTIONS.fanOut.maxInstances, FUNCTIONS.load.maxInstances, FUNCTIONS.runStatus.maxInstances, FUNCTIONS.runReport.maxInstances]).toEqual([2, 1, 5, 2]);
    expect(usage(registry, config, workflow).functionMemory.count).toBe(512 + 1280 + 512 + 1280 + 1024);
  });

  test('workflow steps: fixed + N × per municipality', () => {
    // The generated workflow pages municipalities today (no per-municipality loop); the workflow above has one.
    expect(usage(registry, config, WORKFLOW).workflowsStepsPerExecution.count).toBe(19 + 3 * 5);
    const { fixed, perMunicipality } = workflowSteps(workflow);
    expect(usage(registry, config, workflow).workflowsStepsPerExecution.count).toBe(fixed + 3 * perMunicipality);
  });

  test('one subscription per topic today (each topic has at most one pushed function; the dead-letter topic its hold)', () => {
    expect(usage(registry, config, workflow).pubsubSubscriptionsPerTopic.count).toBe(1);
  });
});
