// Enforces DESIGN.md's dependency rules by reading import statements: layers only import
// downwards, and each driver library has exactly one importer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(new URL('../../src', import.meta.url).pathname);

/** What each top-level folder (or file) of src/ may import from src/. */
const ALLOWED: Record<string, string[]> = {
  core: [],
  config: ['core'],
  store: ['core'],
  chunks: ['core', 'store'],
  meta: ['core'],
  vfs: ['core', 'chunks', 'meta', 'store'],
  locks: ['core', 'meta'],
  auth: ['core', 'meta'],
  tenancy: ['core', 'vfs', 'locks'],
  dav: ['core', 'vfs', 'locks'],
  fuse: ['core', 'vfs'],
  remote: ['core', 'vfs'],
  http: ['core', 'dav', 'vfs', 'locks', 'auth', 'tenancy'],
  'app.ts': ['core', 'config', 'store', 'chunks', 'meta', 'vfs', 'locks'],
  maintenance: ['core', 'store', 'chunks', 'meta'],
  jobs: ['core', 'store', 'chunks', 'meta', 'locks', 'maintenance'],
  cli: ['core', 'config', 'http', 'app.ts', 'maintenance', 'jobs', 'locks', 'auth', 'meta', 'vfs', 'tenancy', 'fuse', 'remote'],
};

/** Libraries that only one file may import (DESIGN.md: one seam per driver). */
const SOLE_IMPORTER: Record<string, string> = {
  '@aws-sdk/client-s3': 'store/s3-store.ts',
  '@smithy/node-http-handler': 'store/s3-store.ts',
  'better-sqlite3': 'meta/sqlite-driver.ts',
  'fuse-native': 'fuse/fuse-binding.ts',
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/gms), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
}

const layerOf = (rel: string) => (rel.includes('/') ? rel.split('/')[0]! : rel);

describe('architecture', () => {
  const all = files(SRC).map((f) => ({ file: f, rel: relative(SRC, f) }));

  it('every source file belongs to a known layer', () => {
    for (const { rel } of all) assert.ok(layerOf(rel) in ALLOWED, `${rel} is in no layer of ALLOWED`);
  });

  it('layers import only downwards', () => {
    const violations: string[] = [];
    for (const { file, rel } of all) {
      const from = layerOf(rel);
      for (const spec of imports(file).filter((s) => s.startsWith('.'))) {
        const target = layerOf(relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts'));
        if (target !== from && !ALLOWED[from]!.includes(target)) violations.push(`${rel} imports ${spec} (${from} → ${target})`);
      }
    }
    assert.deepEqual(violations, []);
  });

  it('driver libraries have one importer each', () => {
    for (const [lib, owner] of Object.entries(SOLE_IMPORTER)) {
      const importers = all.filter(({ file }) => imports(file).some((s) => s === lib || s.startsWith(`${lib}/`))).map((x) => x.rel);
      assert.deepEqual(importers, [owner], lib);
    }
  });
});
