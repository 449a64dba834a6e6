/**
 * npm run workflows:generate [-- --check]
 *
 * Writes workflows/daily.workflows.yaml from the workflow specification (shared/workflow/daily.ts). The file is
 * committed and deployed as is; `--check` only compares and fails when it is out of date (a test
 * does the same).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DAILY_WORKFLOW, DAILY_WORKFLOW_FILE } from '../shared/workflow/daily';
import { renderWorkflowYaml } from '../shared/workflow/workflow-yaml';
import { EXIT, runCommand } from './lib/cli';
import { WORKFLOWS_GENERATE } from './lib/commands';

runCommand(WORKFLOWS_GENERATE, async (args) => {
  const root = path.resolve(__dirname, '..');
  const file = path.join(root, DAILY_WORKFLOW_FILE);
  const yaml = renderWorkflowYaml(DAILY_WORKFLOW);
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (args.check) {
    if (current !== yaml) {
      console.error(`${DAILY_WORKFLOW_FILE} is out of date: run \`npm run workflows:generate\``);
      return EXIT.failed;
    }
    console.log(`${DAILY_WORKFLOW_FILE} is up to date`);
    return EXIT.ok;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, yaml);
  console.log(
    `${current === yaml ? 'unchanged' : 'wrote'} ${DAILY_WORKFLOW_FILE} (${yaml.length.toLocaleString('en-US')} bytes, steps ${DAILY_WORKFLOW.steps.map((s) => s.id).join(' → ')})`,
  );
  return EXIT.ok;
});
