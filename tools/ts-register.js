// Runs the TypeScript sources without a type-check: each .ts file is transpiled with esbuild when it
// is first required, and the result is cached by content hash in node_modules/.cache/ts-register, so
// an unchanged file costs one hash and one read. Type errors are caught by `npm run typecheck`.
// Usage: node -r ./tools/ts-register.js main.ts
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const CACHE_DIR = path.join(__dirname, '..', 'node_modules', '.cache', 'ts-register');
const OPTIONS = { loader: 'ts', format: 'cjs', target: 'node20' };
let esbuild; // loaded only on a cache miss

function transpile(source, filename) {
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify(OPTIONS))
    .update('\0')
    .update(filename)
    .update('\0')
    .update(source)
    .digest('hex');
  const cached = path.join(CACHE_DIR, `${key}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    // not cached yet
  }
  esbuild ??= require('esbuild');
  const { code } = esbuild.transformSync(source, { ...OPTIONS, sourcefile: filename });
  try {
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, cached); // atomic: concurrent runs never read half a file
  } catch {
    // a read-only checkout still works, just without the cache
  }
  return code;
}

require.extensions['.ts'] = function compileTs(module, filename) {
  module._compile(transpile(fs.readFileSync(filename, 'utf8'), filename), filename);
};
