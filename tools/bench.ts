/**
 * npm run bench: times the synth entry points and the unit tests, and prints the medians beside the
 * cdk8s init template's default (`npx ts-node main.ts`), measured in the same run on this machine.
 *
 *   npm run bench              default repetitions
 *   BENCH_RUNS=20 npm run bench
 *   BENCH_ONLY='app|kustomize|profile' npm run bench   some rows only
 *
 * Targets (issue 9): the app itself (`node tools/run-bundled.js main.ts`) <= 0.2 s, each extra profile
 * <= 10 ms, npm test <= 15 s; beside `kubectl kustomize` on the same objects, measured in the same run.
 * (Issue 2's: npm run synth <= 0.5 s, cdk8s synth <= 1.2 s.) Helm is not measured: no Debian package.
 * The cdk8s CLI checks npm for a newer version of itself at most every 30 minutes, caching the answer in
 * ~/.cdk8s-cli.version; the runs below use a HOME whose cache is fresh, which is the steady state on a
 * developer machine (offline, the check cannot complete and is retried on every run).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const runs = Number(process.env.BENCH_RUNS ?? 7);
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-home-'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
fs.writeFileSync(path.join(home, '.cdk8s-cli.version'), require('cdk8s-cli/package.json').version);

interface Case {
  readonly label: string;
  readonly command: string;
  readonly target?: number;
  readonly runs: number;
}

const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const cases: Case[] = [
  {
    label: 'the app: node tools/run-bundled.js main.ts',
    command: 'node tools/run-bundled.js main.ts',
    target: 0.2,
    runs,
  },
  ...(kubectl
    ? [
        {
          label: 'kubectl kustomize dist/production (baseline)',
          command: 'kubectl kustomize dist/production',
          runs,
        },
      ]
    : []),
  { label: 'npm run synth', command: 'npm run -s synth', target: 0.5, runs },
  { label: 'cdk8s synth', command: 'node_modules/.bin/cdk8s synth', target: 1.2, runs },
  { label: 'npx cdk8s synth (npx resolution on top)', command: 'npx cdk8s synth', runs },
  { label: 'ts-node main.ts (cdk8s init default)', command: 'npx ts-node main.ts', runs: Math.min(runs, 5) },
  {
    label: 'cdk8s synth with ts-node (cdk8s init default)',
    command: 'node_modules/.bin/cdk8s synth --app "npx ts-node main.ts"',
    runs: Math.min(runs, 5),
  },
  {
    label: 'npm test',
    command: 'npm test --silent',
    target: 15,
    runs: Number(process.env.BENCH_TEST_RUNS ?? 3),
  },
];

/** The cost of one more profile: the same synth with the real profiles and with EXTRA more. */
const EXTRA = 10;
const extraProfiles = (n: number) =>
  `BENCH_EXTRA_PROFILES=${n} node tools/run-bundled.js tools/bench-profiles.ts`;

/** CPU seconds (user + system) of the last command `time` ran: less stretched by a busy machine. */
let lastCpu = 0;

function time(command: string): number {
  const start = process.hrtime.bigint();
  // `times` prints the CPU time of the shell's children: the command and everything it started.
  const r = spawnSync(
    'bash',
    ['-c', `{ ${command} ; } >/dev/null 2>"$BENCH_ERR" || { cat "$BENCH_ERR" >&2; exit 1; }; times`],
    {
      cwd: ROOT,
      env: { ...process.env, HOME: home, BENCH_ERR: path.join(home, 'stderr') },
      encoding: 'utf8',
    },
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`"${command}" failed (exit ${r.status}):\n${r.stderr}`);
  const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(r.stdout);
  lastCpu = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : NaN;
  return seconds;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function row(
  label: string,
  m: number,
  xs: number[],
  unit: string,
  cpu: number,
  target?: number,
  digits = 3,
): void {
  const verdict =
    target === undefined ? 'baseline' : `${m <= target ? 'met' : 'MISSED'} (<= ${target} ${unit})`;
  console.log(
    `${label.padEnd(48)} ${m.toFixed(digits).padStart(7)}${unit} ${Math.min(...xs)
      .toFixed(digits)
      .padStart(6)}${unit} ${Math.max(...xs)
      .toFixed(digits)
      .padStart(
        6,
      )}${unit} ${cpu.toFixed(digits).padStart(7)}${unit} ${String(xs.length).padStart(2)}  ${verdict}`,
  );
}

try {
  console.log(
    `${os.cpus().length} cores, node ${process.version}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; medians of N runs after one warm-up run each\n`,
  );
  console.log(
    `${'command'.padEnd(48)} ${'median'.padStart(8)} ${'min'.padStart(7)} ${'max'.padStart(7)} ${'cpu'.padStart(8)}  N  target (on the wall-clock median)`,
  );
  // BENCH_ONLY=regex limits the table to matching labels (the per-profile row is labelled "profile").
  const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
  for (const c of cases.filter((x) => !only || only.test(x.label))) {
    time(c.command); // warm-up: file cache, npx resolution, bundle and code cache
    const xs: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < c.runs; i++) {
      xs.push(time(c.command));
      cpu.push(lastCpu);
    }
    row(c.label, median(xs), xs, 's', median(cpu), c.target);
  }
  // Alternate the two counts, so that a change in the machine's load hits both alike.
  if (!only || only.test('each extra profile')) {
    time(extraProfiles(0));
    time(extraProfiles(EXTRA));
    const perProfile: number[] = [];
    const perProfileCpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const b = time(extraProfiles(0));
      const bCpu = lastCpu;
      const m = time(extraProfiles(EXTRA));
      perProfile.push(((m - b) / EXTRA) * 1000);
      perProfileCpu.push(((lastCpu - bCpu) / EXTRA) * 1000);
    }
    row(
      `each extra profile (${EXTRA} more)`,
      median(perProfile),
      perProfile,
      'ms',
      median(perProfileCpu),
      10,
      1,
    );
  }
} finally {
  fs.rmSync(home, { recursive: true, force: true });
}
