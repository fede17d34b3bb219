#!/usr/bin/env node
// Counts what an entry point promises to users: its exported values (functions, classes,
// constants, enums) and its type-only exports (interfaces, type aliases), through the
// TypeScript checker so `export *` chains are followed exactly as a consumer sees them.
//
//   node scripts/count-exports.mjs [entry.ts ...] [--list]
//
// Without entries it counts index.ts and every entries/*.ts. Classes count as values (they
// are values that also name a type). --list prints each name under its kind.
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const list = args.includes('--list');
let entries = args.filter((a) => !a.startsWith('--')).map((a) => resolve(a));
if (entries.length === 0) {
  entries = [join(root, 'index.ts')];
  const dir = join(root, 'entries');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.ts')) entries.push(join(dir, f));
  }
}

const options = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node'],
};

// Each entry's exports, split by whether the symbol has a value meaning at all.
function exportsOf(entryPaths) {
  const program = ts.createProgram(entryPaths, options);
  const checker = program.getTypeChecker();
  return entryPaths.map((entry) => {
    const source = program.getSourceFile(entry);
    const symbol = source && checker.getSymbolAtLocation(source);
    if (symbol === undefined) throw new Error(`${entry}: not a module`);
    const values = [];
    const types = [];
    for (const exported of checker.getExportsOfModule(symbol)) {
      const target =
        exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      (target.flags & ts.SymbolFlags.Value ? values : types).push(exported.name);
    }
    return { entry, values, types };
  });
}

// A value re-exported type-only (`export type { X }`, `export type *`) is only a type to a
// consumer. Rather than re-implement TypeScript's rules, a probe file per entry uses every
// candidate as a value and the checker names those it refuses (TS1361/TS1362).
function typeOnlyValues(counted) {
  const probes = new Map();
  for (const { entry, values } of counted) {
    const probe = join(dirname(entry), `__count_exports_probe_${basename(entry)}`);
    const from = `./${basename(entry).replace(/\.ts$/, '.js')}`;
    const text =
      `import { ${values.join(', ')} } from '${from}';\n` +
      `export const used: unknown[] = [${values.join(', ')}];\n`;
    probes.set(probe, text);
  }
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => probes.has(f) || fileExists.call(host, f);
  host.readFile = (f) => probes.get(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, language, ...rest) =>
    probes.has(f)
      ? ts.createSourceFile(f, probes.get(f), language)
      : getSourceFile.call(host, f, language, ...rest);
  const program = ts.createProgram([...probes.keys()], options, host);
  const refused = new Set();
  for (const probe of probes.keys()) {
    const source = program.getSourceFile(probe);
    for (const d of program.getSemanticDiagnostics(source)) {
      if (d.code !== 1361 && d.code !== 1362) continue;
      const name = source.text.slice(d.start, d.start + d.length);
      refused.add(`${probe}\0${name}`);
    }
  }
  return (entry, name) =>
    refused.has(`${join(dirname(entry), `__count_exports_probe_${basename(entry)}`)}\0${name}`);
}

const counted = exportsOf(entries);
const isTypeOnly = typeOnlyValues(counted);
for (const { entry, values: candidates, types: plain } of counted) {
  const values = candidates.filter((n) => !isTypeOnly(entry, n));
  const types = [...plain, ...candidates.filter((n) => isTypeOnly(entry, n))];
  const name = relative(root, entry);
  console.log(`${name}: ${values.length} values, ${types.length} types`);
  if (list) {
    console.log(`  values: ${values.sort().join(' ')}`);
    console.log(`  types: ${types.sort().join(' ')}`);
  }
}
