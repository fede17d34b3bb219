// The layer rules of docs/design.md ("Layers"), checked by `npm run check:layers`:
//   launcher -> network -> native, all above core (errors, undo, named steps), which imports
//   nothing of ours; qemu-templates imports only core; no import cycle anywhere.
// Tests, benches and scripts may import any layer; no layer may import them.
// Type-only imports count: a cycle through `import type` is still a cycle for the reader.

/** Layer directories a layer must not import, keyed by the layer. */
const forbiddenBelow = {
  core: ['native', 'network', 'launcher', 'qemu-templates'],
  native: ['network', 'launcher', 'qemu-templates'],
  network: ['launcher', 'qemu-templates'],
  'qemu-templates': ['native', 'network', 'launcher'],
};

const layerRules = Object.entries(forbiddenBelow).map(([layer, banned]) => ({
  name: `${layer}-imports-only-below`,
  comment: `${layer}/ may not import ${banned.join(', ')} (docs/design.md, "Layers")`,
  severity: 'error',
  from: { path: `^${layer}/` },
  to: { path: `^(${banned.join('|')})/` },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle: modules that can only be read (and loaded) together.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'layers-do-not-import-tools',
      comment: 'Library code may not import tests, benches, scripts or the root entry point.',
      severity: 'error',
      from: { path: '^(core|native|network|launcher|qemu-templates)/' },
      to: { path: '^((test|bench|scripts)/|index\\.ts$)' },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that does not resolve would hide its edge from every rule above.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|native/build|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
