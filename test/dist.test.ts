import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PROFILES } from '../charts/profiles';
import { synthesize } from '../charts/synth';
import { treeHashes } from './support/tree';

const DIST = path.join(__dirname, '..', 'dist');

describe('committed dist/', () => {
  let fresh: string;
  beforeAll(() => {
    fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-check-'));
    synthesize({ profiles: PROFILES, distDir: fresh });
  });
  afterAll(() => fs.rmSync(fresh, { recursive: true, force: true }));

  test('equals a fresh synth, byte for byte (run `npm run synth` and commit dist/ if this fails)', () => {
    expect(treeHashes(DIST)).toEqual(treeHashes(fresh));
  });

  test('holds one folder per profile with only numbered manifests and a Kustomization in it', () => {
    for (const profile of Object.keys(PROFILES)) {
      const files = fs.readdirSync(path.join(DIST, profile)).sort();
      expect(files[files.length - 1]).toBe('Kustomization');
      expect(files.length).toBeGreaterThan(1);
      for (const f of files.slice(0, -1)) expect(f).toMatch(/^\d{4}-[a-z0-9-]+\.k8s\.yaml$/);
    }
  });

  test('synthesis is deterministic: a second synth is identical', () => {
    const again = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-again-'));
    try {
      synthesize({ profiles: PROFILES, distDir: again });
      expect(treeHashes(again)).toEqual(treeHashes(fresh));
    } finally {
      fs.rmSync(again, { recursive: true, force: true });
    }
  });
});
