import fs from 'node:fs';
import path from 'node:path';

/**
 * `npm install` is quiet on the Node the README documents: every package in the lockfile accepts the
 * oldest Node that package.json's `engines` allows (otherwise npm prints an EBADENGINE block per
 * package — ~100 lines before the pins in package.json).
 */
const root = path.resolve(__dirname, '../..');

type V = [number, number, number];
const cmp = (a: V, b: V) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/**
 * Does Node `v` satisfy an `engines.node` range? The subset of semver ranges the lockfile uses
 * (`||`, >=, >, <=, <, ^, ~, bare and x/* wildcards); semver itself is not a dependency of the project.
 */
function satisfies(v: V, range: string): boolean {
  return range.split('||').some((alt) => {
    const tokens = alt
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    return tokens.every((tok) => {
      const m = /^(>=|<=|>|<|=|\^|~)?v?(.*)$/.exec(tok)!;
      const op = m[1] ?? '';
      if (m[2] === '*' || m[2] === 'x') return true;
      const parts = m[2]!.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : undefined));
      const given = parts.findIndex((p) => p === undefined);
      const n = given < 0 ? Math.min(parts.length, 3) : given; // number of numeric parts
      const low: V = [parts[0] ?? 0, n > 1 ? parts[1]! : 0, n > 2 ? parts[2]! : 0];
      const prefix = (x: V) => low.slice(0, n).every((p, i) => x[i] === p);
      switch (op) {
        case '>=':
          return cmp(v, low) >= 0;
        case '>':
          return n < 3 ? cmp(v, low) >= 0 && !prefix(v) : cmp(v, low) > 0;
        case '<=':
          return n < 3 ? cmp(v, low) <= 0 || prefix(v) : cmp(v, low) <= 0;
        case '<':
          return cmp(v, low) < 0;
        case '^':
          return v[0] === low[0] && cmp(v, low) >= 0;
        case '~':
          return v[0] === low[0] && v[1] === low[1] && cmp(v, low) >= 0;
        default:
          return prefix(v);
      }
    });
  });
}
const minVersion = (range: string): V => {
  const m = /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(range)!;
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
};
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

describe('engines', () => {
  // package.json says ">=X.Y.Z": X.Y.Z is the oldest Node the project promises to install quietly on.
  const oldest = minVersion(pkg.engines.node);

  it('the range checker reads the forms the lockfile uses', () => {
    expect(satisfies([20, 20, 2], '^18.14.0 || ^20.0.0 || ^22.0.0 || >=24.0.0')).toBe(true);
    expect(satisfies([20, 20, 2], '>=22')).toBe(false);
    expect(satisfies([20, 20, 2], '20 || >=22')).toBe(true);
    expect(satisfies([20, 12, 0], '^20.19.0 || ^22.13.0 || >=23.5.0')).toBe(false);
    expect(satisfies([20, 20, 0], '>= 20.9.0')).toBe(true);
    expect(satisfies([20, 20, 0], '>=20 <=24')).toBe(true);
    expect(satisfies([25, 0, 0], '>=20 <=24')).toBe(false);
    expect(satisfies([20, 20, 0], '6.* || 8.* || >= 10.*')).toBe(true);
    expect(satisfies([20, 20, 0], '>=16 || 14 >=14.17')).toBe(true);
  });

  it('the documented Node is the one package.json declares', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toContain(`Node ${oldest[0]}.${oldest[1]} or newer`);
  });

  it('every locked package accepts the oldest Node package.json allows', () => {
    const refusing = Object.entries(lock.packages)
      .filter(([name, p]) => name && p.engines && !Array.isArray(p.engines) && p.engines.node && !satisfies(oldest, p.engines.node))
      .map(([name, p]) => `${name}@${p.version}: node ${(p.engines as { node: string }).node}`);
    expect(refusing).toEqual([]);
  });
});
