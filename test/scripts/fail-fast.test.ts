import * as path from 'path';
import { scriptPath } from '../../charts/scripts';
import { switchoverScriptPath } from '../../charts/switchover-chart';
import { ScriptSandbox } from '../support/script-runner';

/**
 * Every script checks with `command -v`, before it does anything, for each external tool it calls; a missing
 * one stops it with exit status 127 and a message naming the tool, the container and the image. The lists
 * here are the scripts' contract with their images; test/e2e/image-inventory.test.ts checks them against
 * what each script calls and what each image contains.
 */
const IMAGE = 'registry.example.com/some/image:1.2.3';
const CASES: { script: string; who: string; tools: string[]; env: Record<string, string> }[] = [
  {
    script: scriptPath('init-mysql', 'mysql57'),
    who: 'init-mysql',
    tools: ['cp'],
    env: { POD_NAME: 'mysql-1' },
  },
  {
    script: scriptPath('clone-mysql', 'mysql57'),
    who: 'clone-mysql',
    tools: ['socat', 'xbstream', 'xtrabackup', 'mysql', 'find', 'rm', 'sleep', 'touch'],
    env: { POD_NAME: 'mysql-1', SERVICE_NAME: 'mysql', ATTEMPTS: '1', RETRY_SECONDS: '0' },
  },
  {
    script: scriptPath('xtrabackup-sidecar', 'mysql57'),
    who: 'sidecar (container xtrabackup)',
    tools: ['mysql', 'socat', 'xtrabackup', 'sh', 'mv', 'rm', 'sleep', 'tr'],
    env: { POD_NAME: 'mysql-1', SERVICE_NAME: 'mysql' },
  },
  {
    script: scriptPath('xtrabackup-sidecar', 'mysql84'),
    who: 'sidecar (container xtrabackup)',
    tools: ['mysql', 'socat', 'xtrabackup', 'mkdir', 'mv', 'rm', 'rmdir', 'sleep'],
    env: { POD_NAME: 'mysql-1', SERVICE_NAME: 'mysql', CLIENT_CNF_DIR: '/nonexistent' },
  },
  {
    script: path.join(__dirname, '..', '..', 'charts', 'scripts', 'monitoring', 'exporter-config.sh'),
    who: 'exporter-config',
    tools: ['mv'],
    env: { EXPORTER_USER: 'exporter', EXPORTER_CNF: '/nonexistent/exporter.cnf' },
  },
  {
    script: switchoverScriptPath(),
    who: 'switchover',
    tools: ['mysql', 'sleep'],
    env: { STATEFULSET: 'mysql', SERVICE_NAME: 'mysql', REPLICAS: '3', TARGET: '1' },
  },
];

describe.each(CASES)('$who ($script) fails fast on a missing tool', ({ script, who, tools, env }) => {
  let box: ScriptSandbox;
  beforeEach(() => {
    box = new ScriptSandbox();
    // Fakes for every tool, so that only the one taken away can be missing.
    for (const tool of ['socat', 'xbstream', 'xtrabackup', 'mysql']) box.fake(tool, 'exit 99');
  });
  afterEach(() => box.cleanup());

  test.each(tools)(
    'without %s: exit 127, the tool, the container and the image named, nothing run',
    (tool) => {
      const others = tools.filter((t) => t !== tool);
      const r = box.runWith(script, { ...env, DATA_DIR: box.dir('data'), CONTAINER_IMAGE: IMAGE }, others);
      expect(r.status).toBe(127);
      expect(r.stderr).toBe(`${who}: ${tool} not found in image ${IMAGE} (see README "Images")\n`);
      expect(r.stdout).toBe('');
      expect(r.calls).toEqual([]);
    },
  );

  test('without CONTAINER_IMAGE the message says the image is unknown', () => {
    const r = box.runWith(script, { ...env, DATA_DIR: box.dir('data') }, tools.slice(1));
    expect(r.status).toBe(127);
    expect(r.stderr).toContain(`${tools[0]} not found in image unknown`);
  });

  test('with exactly these tools the check passes (the script gets on with its work)', () => {
    const r = box.runWith(script, { ...env, DATA_DIR: box.dir('data'), CONTAINER_IMAGE: IMAGE }, tools);
    expect(r.stderr).not.toContain('not found in image');
  });
});
