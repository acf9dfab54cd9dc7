// Runs the TypeScript sources without a type-check: each .ts file is transpiled with esbuild as it is
// required. Type errors are caught by `npm run typecheck` (tsc --noEmit), not at synth time.
// Usage: node -r ./tools/ts-register.js main.ts
'use strict';
const fs = require('fs');
const { transformSync } = require('esbuild');

require.extensions['.ts'] = function compileTs(module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    loader: 'ts',
    format: 'cjs',
    target: 'node20',
    sourcefile: filename,
    sourcemap: 'inline',
  });
  module._compile(code, filename);
};
