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
const path = require('path');

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
  }
  require(outfile);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
