import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The rooms of the code base and what each may import (docs/architecture.md, "Where things live"),
 * checked by reading every import of every source file with TypeScript's own pre-processor
 * (comments and strings are not imports). A rule broken names the file, the import and the reason.
 */
const root = path.resolve(__dirname, '../..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'cdktf.out') out.push(...sourceFiles(rel));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const FILES = ['shared', 'functions', 'scripts', 'infra-cdktf'].flatMap(sourceFiles);

/** A file's imports: repository-relative paths for relative imports (without extension), package names otherwise. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map(({ fileName }) => (fileName.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), fileName)) : fileName));
}
const IMPORTS = new Map(FILES.map((f) => [f, importsOf(f)]));

/** `shared/extract` matches the folder and everything under it; `shared/ports` the module. */
const under = (target: string, room: string) => target === room || target === room.replace(/\.ts$/, '') || target.startsWith(`${room}/`);

interface Rule {
  /** Files the rule applies to. */
  files: (file: string) => boolean;
  /** An import the rule refuses. */
  refuses: (target: string) => boolean;
  why: string;
}

const inShared = (f: string) => f.startsWith('shared/');
const RULES: Rule[] = [
  {
    files: inShared,
    refuses: (t) => ['functions', 'scripts', 'test', 'infra-cdktf'].some((r) => under(t, r)),
    why: 'shared/ is the library the entry points are built from: it never imports an entry point, a script, a test or the infrastructure',
  },
  {
    files: (f) => f.startsWith('functions/'),
    refuses: (t) => ['scripts', 'test', 'infra-cdktf'].some((r) => under(t, r)),
    why: 'a function bundles functions/ and shared/ only (scripts/ are CLI-only)',
  },
  {
    files: (f) => f.startsWith('infra-cdktf/'),
    refuses: (t) => ['scripts', 'test', 'functions'].some((r) => under(t, r)),
    why: 'the infrastructure reads contracts from shared/, never code from entry points',
  },
  {
    // The extractor is used by its handler and wired by the composition roots; nothing else depends on it.
    files: (f) => inShared(f) && !under(f, 'shared/extract') && f !== 'shared/handlers/extract.ts' && f !== 'shared/local/runtime.ts',
    refuses: (t) => under(t, 'shared/extract'),
    why: 'load, ledger, run status, records, workflow, marts and adapters must not depend on extract: what they share lives in shared/records or shared/contracts',
  },
  {
    files: (f) => f.startsWith('functions/') && !f.startsWith('functions/extract/'),
    refuses: (t) => under(t, 'shared/extract'),
    why: 'only the extract function bundles the extractor',
  },
  {
    files: (f) => under(f, 'shared/records'),
    refuses: (t) => t.startsWith('shared/') && !['shared/records', 'shared/contracts', 'shared/errors', 'shared/ports'].some((r) => under(t, r)),
    why: "the bucket's records depend only on contracts, errors and ports: every other module may read and write them",
  },
  {
    files: (f) => under(f, 'shared/contracts'),
    refuses: (t) => t.startsWith('shared/') && !['shared/contracts', 'shared/tables'].some((r) => under(t, r)),
    why: 'contracts are the bottom layer (the table registry is their data): they import no behaviour',
  },
  {
    files: (f) => ['shared/extract', 'shared/load', 'shared/run', 'shared/ledger', 'shared/marts', 'shared/workflow', 'shared/handlers', 'shared/records'].some((r) => under(f, r)),
    refuses: (t) => under(t, 'shared/adapters'),
    why: 'use cases depend on the ports (shared/ports.ts), never on the Google Cloud adapters that implement them',
  },
  {
    files: (f) => under(f, 'shared/tables'),
    refuses: (t) => t.startsWith('shared/') && !['shared/tables', 'shared/contracts'].some((r) => under(t, r)),
    why: 'the table registry is data checked by its contract',
  },
  {
    files: (f) => inShared(f) && !under(f, 'shared/adapters/gcp') && !under(f, 'shared/observability') && f !== 'shared/log.ts',
    refuses: (t) => t.startsWith('@google-cloud/'),
    why: 'Google Cloud clients are used only by the adapters (shared/adapters/gcp) and the logging/tracing setup',
  },
];

describe('import rules (docs/architecture.md, "Where things live")', () => {
  it('reads the imports it checks', () => {
    // A scanner that saw nothing would pass every rule below.
    expect(FILES.length).toBeGreaterThan(100);
    expect(IMPORTS.get('shared/handlers/extract.ts')).toContain('shared/extract/extract-municipality');
    expect(IMPORTS.get('shared/adapters/gcp/gcs-object-store.ts')).toContain('@google-cloud/storage');
    expect(RULES.some((r) => r.files('shared/load/load-run.ts') && r.refuses('shared/extract/sql'))).toBe(true);
  });

  it.each(RULES.map((r) => [r.why, r] as const))('%s', (_why, rule) => {
    const broken = FILES.filter(rule.files).flatMap((f) =>
      IMPORTS.get(f)!
        .filter(rule.refuses)
        .map((t) => `${f} imports ${t}`),
    );
    expect(broken).toEqual([]);
  });

  it('shared/ports.ts declares interfaces only: every import is a type import', () => {
    const text = fs.readFileSync(path.join(root, 'shared/ports.ts'), 'utf8');
    const imports = text.split('\n').filter((l) => /^import\b/.test(l));
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((l) => !/^import type\b/.test(l))).toEqual([]);
  });

  it("builds the bucket's object names only in shared/records (layout.ts)", () => {
    const keyLike = /^(runs|leases)\//;
    const found: string[] = [];
    for (const file of FILES.filter((f) => !under(f, 'shared/records') && !f.startsWith('infra-cdktf/'))) {
      const source = ts.createSourceFile(file, fs.readFileSync(path.join(root, file), 'utf8'), ts.ScriptTarget.Latest, false);
      const visit = (node: ts.Node): void => {
        if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node)) && (keyLike.test(node.text) || node.text.includes('manifest.json')))
          found.push(`${file}: ${JSON.stringify(node.text)}`);
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(found).toEqual([]);
  });
});
