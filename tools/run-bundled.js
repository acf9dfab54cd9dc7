// Runs a TypeScript entry point fast: from one esbuild bundle of it and everything it imports, cached in
// node_modules/.cache/run-bundled/ and rebuilt only when an input file changed (size or mtime). The
// cache is keyed by the checkout's real path, so a copied checkout (`cp -a`, node_modules included), a
// git worktree sharing node_modules through a symlink, or a moved checkout each build and run their
// own sources, never another checkout's bundle (whose paths and __dirname point at that checkout). One
// pre-compiled file loads in about half the time of the ~120 modules it replaces, which is most of a
// synth's run time. No type-check here: `npm run typecheck` does that.
// Each project .ts file's `__dirname` is replaced by its real directory, so the charts still find
// their .sh scripts next to them.
// Usage: node tools/run-bundled.js main.ts
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const Module = require('module');
const path = require('path');
const vm = require('vm');

const ROOT = fs.realpathSync(path.join(__dirname, '..'));
const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'run-bundled');

function inputsUnchanged(manifestFile) {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  } catch {
    return false;
  }
  if (manifest.root !== ROOT) return false;
  for (const [file, [size, mtimeMs]] of Object.entries(manifest.inputs)) {
    let st;
    try {
      st = fs.statSync(file);
    } catch {
      return false;
    }
    if (st.size !== size || st.mtimeMs !== mtimeMs) return false;
  }
  return true;
}

/** Bundles `entry` into `outfile`; returns the inputs with their size and mtime. */
async function build(entry, outfile) {
  const esbuild = require('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    absWorkingDir: ROOT, // the metafile's input paths are relative to it
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    metafile: true,
    logLevel: 'warning',
    plugins: [
      {
        name: 'real-dirname',
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, (args) => ({
            loader: 'ts',
            contents: fs
              .readFileSync(args.path, 'utf8')
              .replace(/\b__dirname\b/g, JSON.stringify(path.dirname(args.path))),
          }));
        },
      },
    ],
  });
  const inputs = {};
  for (const rel of Object.keys(result.metafile.inputs)) {
    const file = path.resolve(ROOT, rel);
    const st = fs.statSync(file);
    inputs[file] = [st.size, st.mtimeMs];
  }
  return inputs;
}

async function main() {
  if (!process.argv[2] || !fs.existsSync(process.argv[2])) {
    process.stderr.write('usage: node tools/run-bundled.js <entry.ts>\n');
    process.exit(2);
  }
  const entry = fs.realpathSync(process.argv[2]);
  // One cache entry per checkout and entry point: the key is the real path of both.
  const key = crypto.createHash('sha256').update(ROOT).update('\0').update(entry).digest('hex').slice(0, 16);
  const name = `${path.basename(entry).replace(/[^\w.-]/g, '_')}-${key}`;
  const outfile = path.join(CACHE_DIR, `${name}.js`);
  const manifestFile = path.join(CACHE_DIR, `${name}.inputs.json`);
  if (!fs.existsSync(outfile) || !inputsUnchanged(manifestFile)) {
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    // Build to private files, then rename (bundle first, its manifest last): a concurrent or
    // interrupted run never loads half a bundle, nor trusts a manifest for an older bundle.
    const tmpOut = `${outfile}.${process.pid}.tmp.js`;
    const inputs = await build(entry, tmpOut);
    fs.renameSync(tmpOut, outfile);
    const tmpManifest = `${manifestFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmpManifest, JSON.stringify({ root: ROOT, inputs }));
    fs.renameSync(tmpManifest, manifestFile);
    for (const f of fs.readdirSync(CACHE_DIR)) {
      if (f.startsWith(`${name}.js.`) && f.endsWith('.v8'))
        fs.rmSync(path.join(CACHE_DIR, f), { force: true });
    }
  }
  runWithCodeCache(outfile);
}

/**
 * Runs the bundle as a CommonJS module, with V8's code cache: compiling the ~1 MB bundle is a fifth of
 * a synth, and the cache (kept beside the bundle, named after its size and mtime, so it can only ever
 * be used with the bundle it was made from) skips it. V8 rejects a cache from another node version.
 */
function runWithCodeCache(outfile) {
  const st = fs.statSync(outfile);
  const cacheFile = `${outfile}.${st.size}-${Math.round(st.mtimeMs)}.v8`;
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    // first run of this bundle
  }
  const script = new vm.Script(Module.wrap(fs.readFileSync(outfile, 'utf8')), {
    filename: outfile,
    cachedData,
  });
  const mod = new Module(outfile, module);
  mod.filename = outfile;
  mod.paths = Module._nodeModulePaths(path.dirname(outfile));
  const req = Module.createRequire(outfile);
  script.runInThisContext().call(mod.exports, mod.exports, req, mod, outfile, path.dirname(outfile));
  mod.loaded = true;
  if (cachedData === undefined || script.cachedDataRejected) {
    // After the run, so the functions the synth compiled lazily are in the cache too.
    process.once('beforeExit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {
        // a read-only cache only costs the next run the compile
      }
    });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
