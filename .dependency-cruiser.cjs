// Layering of src/, checked by `npm run lint:deps` (part of `npm run lint` and `npm test`).
//
// Layers, lowest first; a module may import its own layer or a lower one, never a higher one:
//   0 pure/infrastructure: src/protocol, src/negentropy/codec, src/crypto, src/config, src/grpc,
//                          src/gen (generated, importable by every layer), src/errors.ts,
//                          src/logger.ts, src/version.ts, src/gc.ts
//   1 capabilities:        src/store, src/acl, src/sync, src/negentropy (except codec/)
//   2 processes:           src/relay, src/services, src/launcher
//   3 commands:            src/cli
// Every module in src/ must belong to a layer (a new folder is added here first).

const LAYER_0 = [
  '^src/(protocol|negentropy/codec|crypto|config|grpc|gen)/',
  '^src/(errors|logger|version|gc|memory-reclaimer)[.]ts$',
];
const LAYER_1 = ['^src/(store|acl|sync)/', '^src/negentropy/(?!codec/)'];
const LAYER_2 = ['^src/(relay|services|launcher)/'];
const LAYER_3 = ['^src/cli/'];
const ALL_LAYERS = [...LAYER_0, ...LAYER_1, ...LAYER_2, ...LAYER_3];

// Modules nothing in src imports by design: the commands and the worker-thread entry files
// (loaded with `new Worker(new URL('./x.js', import.meta.url))`).
const ENTRY_POINTS = [
  '^src/cli/[^/]+[.]ts$',
  '^src/crypto/verify-worker[.]ts$',
  '^src/store/lmdb/query-workers/query-worker[.]ts$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'layer-0-imports-upward',
      comment:
        'Layer 0 (protocol, negentropy/codec, crypto, config, grpc, gen, errors/logger/version) ' +
        'imports only layer 0.',
      severity: 'error',
      from: { path: LAYER_0 },
      to: { path: [...LAYER_1, ...LAYER_2, ...LAYER_3] },
    },
    {
      name: 'layer-1-imports-upward',
      comment: 'Layer 1 (store, acl, sync, negentropy) imports only layers 0-1.',
      severity: 'error',
      from: { path: LAYER_1 },
      to: { path: [...LAYER_2, ...LAYER_3] },
    },
    {
      name: 'layer-2-imports-cli',
      comment: 'Layer 2 (relay, services, launcher) must not import src/cli.',
      severity: 'error',
      from: { path: LAYER_2 },
      to: { path: LAYER_3 },
    },
    {
      name: 'not-in-a-layer',
      comment: 'Every module in src/ belongs to a layer: add a new folder to .dependency-cruiser.cjs.',
      severity: 'error',
      from: { path: '^src/', pathNot: ALL_LAYERS },
      to: {},
    },
    {
      name: 'to-module-not-in-a-layer',
      comment: 'Every module in src/ belongs to a layer: add a new folder to .dependency-cruiser.cjs.',
      severity: 'error',
      from: {},
      to: { path: '^src/', pathNot: ALL_LAYERS },
    },
    {
      name: 'service-imports-other-service',
      comment: 'src/services/<name>/ imports no other service folder (src/services/shared/ is for all).',
      severity: 'error',
      from: { path: '^src/services/([^/]+)/' },
      to: { path: '^src/services/', pathNot: '^src/services/($1|shared)/' },
    },
    {
      name: 'relay-imports-services',
      comment: 'The relay talks to the services over gRPC clients in store/, acl/, negentropy/.',
      severity: 'error',
      from: { path: '^src/relay/' },
      to: { path: '^src/services/' },
    },
    {
      name: 'launcher-imports-relay-or-services',
      comment: 'The launcher runs the relay and the services as processes; it does not import them.',
      severity: 'error',
      from: { path: '^src/launcher/' },
      to: { path: '^src/(relay|services)/' },
    },
    {
      name: 'src-imports-test-or-bench',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles (type-only imports included).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/gen/' },
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment: 'A module no one imports and that imports nothing is dead code (or a missing entry point).',
      severity: 'error',
      from: { orphan: true, path: '^src/', pathNot: ['^src/gen/', ...ENTRY_POINTS] },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve would escape every rule above.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
    {
      name: 'not-to-dev-dependency',
      comment: 'src/ ships: it may not import a devDependency (type-only imports excepted).',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    // `import type` counts: a type-only import across layers is still a dependency.
    tsPreCompilationDeps: true,
    doNotFollow: { path: ['node_modules', '^src/gen/'] },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
