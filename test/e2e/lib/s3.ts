/**
 * A local S3-compatible server for the backup steps: the npm package s3rver (pinned in package.json), run by node
 * inside its own network namespace on the pod network, so the pods reach it at http://<ip>:<port> exactly as they
 * reach each other, and nothing outside the run can. It stores objects as plain files below the run directory, so
 * the steps can inspect and corrupt what a backup uploaded.
 *
 * What it does not do (the fidelity cost, see test/e2e/README.md): no SSE-KMS (the headers are accepted and
 * ignored), no IAM (any signature of its one key pair passes), no checksums beyond Content-MD5, no Object Lock.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ResourceTracker } from './tracker';
import type { PodNetwork } from './network';
import { startPause } from './network';
import { runOk, spawnTracked, waitFor } from './proc';

/** s3rver's built-in key pair (s3rver lib/models/account.js): the only credentials it accepts. */
export const S3RVER_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const PORT = 9000;

export class S3Server {
  private constructor(
    private readonly tracker: ResourceTracker,
    readonly endpoint: string,
    readonly dataDir: string,
    private readonly sandboxPid: number,
  ) {}

  /** Starts s3rver with the given buckets on the pod network; resolves once it accepts connections. */
  static async start(
    tracker: ResourceTracker,
    network: PodNetwork,
    runDir: string,
    repoRoot: string,
    buckets: string[],
  ): Promise<S3Server> {
    const sandboxPid = await startPause(tracker, 's3 server sandbox', ['--net', '--uts'], 's3');
    tracker.trackNamespaces(sandboxPid, ['net', 'uts'], 's3 server');
    const ip = await network.attach(sandboxPid);
    const dataDir = path.join(runDir, 's3');
    fs.mkdirSync(dataDir);
    const bin = path.join(repoRoot, 'node_modules', 's3rver', 'bin', 's3rver.js');
    if (!fs.existsSync(bin)) throw new Error(`s3rver is not installed (${bin}); run npm ci`);
    const log = fs.openSync(path.join(runDir, 's3rver.log'), 'a');
    spawnTracked(
      tracker,
      's3rver',
      'setpriv',
      [
        '--pdeathsig',
        'SIGKILL',
        '--',
        'nsenter',
        `--net=/proc/${sandboxPid}/ns/net`,
        '--',
        process.execPath,
        bin,
        '-d',
        dataDir,
        '-a',
        ip,
        '-p',
        String(PORT),
        '--silent',
        ...buckets.flatMap((b) => ['--configure-bucket', b]),
      ],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    const server = new S3Server(tracker, `http://${ip}:${PORT}`, dataDir, sandboxPid);
    await waitFor('s3rver to listen', 15_000, () => server.listening(), 100);
    return server;
  }

  /** Whether the server accepts a TCP connection (checked from inside its namespace). */
  private listening(): Promise<boolean> {
    // The bridge namespace is not the host's: probe through /proc/<pid>/net/tcp instead of connecting.
    try {
      const hexPort = PORT.toString(16).toUpperCase().padStart(4, '0');
      const table = fs.readFileSync(`/proc/${this.sandboxPid}/net/tcp`, 'utf8');
      return Promise.resolve(table.split('\n').some((l) => l.includes(`:${hexPort} `) && / 0A /.test(l)));
    } catch {
      return Promise.resolve(false);
    }
  }

  /** Uploads a file as an object with Debian's AWS CLI, from inside the server's network namespace. */
  async put(bucket: string, key: string, file: string): Promise<void> {
    await runOk(
      this.tracker,
      'nsenter',
      [
        `--net=/proc/${this.sandboxPid}/ns/net`,
        '--',
        'env',
        `AWS_ACCESS_KEY_ID=${S3RVER_KEYS.accessKeyId}`,
        `AWS_SECRET_ACCESS_KEY=${S3RVER_KEYS.secretAccessKey}`,
        'AWS_REGION=us-east-1',
        '/usr/bin/aws',
        '--endpoint-url',
        this.endpoint,
        's3',
        'cp',
        '--only-show-errors',
        file,
        `s3://${bucket}/${key}`,
      ],
      60_000,
    );
  }

  /** The file s3rver keeps an object's bytes in. */
  objectFile(bucket: string, key: string): string {
    return path.join(this.dataDir, bucket, `${key}._S3rver_object`);
  }

  /** Keys below a prefix, sorted (from the files on disk). */
  keys(bucket: string, prefix: string): string[] {
    const root = path.join(this.dataDir, bucket);
    const out: string[] = [];
    const walk = (dir: string) => {
      if (!fs.existsSync(dir)) return;
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('._S3rver_object'))
          out.push(path.relative(root, p).replace(/\._S3rver_object$/, ''));
      }
    };
    walk(root);
    return out.filter((k) => k.startsWith(prefix)).sort();
  }
}
