/**
 * A synth of the real profiles plus BENCH_EXTRA_PROFILES copies of production (each in its own
 * namespace), into a temporary folder: `npm run bench` times it at two counts to get the cost of one
 * more profile. Usage: BENCH_EXTRA_PROFILES=10 node tools/run-bundled.js tools/bench-profiles.ts
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { MysqlStackConfig } from '../charts/config';
import { production, PROFILES } from '../charts/profiles';
import { synthesize } from '../charts/synth';

const extra = Number(process.env.BENCH_EXTRA_PROFILES ?? 0);
const profiles: Record<string, MysqlStackConfig> = { ...PROFILES };
for (let i = 1; i <= extra; i++) {
  const profile = `extra${i}`;
  profiles[profile] = { ...production, profile, namespace: `mysql-${profile}` };
}
const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-profiles-'));
try {
  synthesize({ profiles, distDir: dist });
} finally {
  fs.rmSync(dist, { recursive: true, force: true });
}
