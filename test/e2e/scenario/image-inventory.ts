/**
 * The image-inventory negative control: the workshop deployed with an XtraBackup image whose inventory lacks
 * `socat` (as the 2023 build of percona/percona-xtrabackup:2.4.29 did). clone-mysql, the first container of that
 * image to run, must stop at once with the fail-fast message naming the tool, the container and the image, and
 * the StatefulSet must get no further: the harness exposes only what the inventory lists, as the real image would.
 */
import * as fs from 'fs';
import { waitFor } from '../lib/proc';
import type { Step, WalkthroughContext } from './common';

/** The image and tool the negative control takes away. */
export const INVENTORY_NEGATIVE = { image: 'percona/percona-xtrabackup:2.4.29', tool: 'socat' } as const;

export function imageInventoryNegative(w: WalkthroughContext): Step[] {
  const { sts } = w;
  const { image, tool } = INVENTORY_NEGATIVE;
  return [
    {
      id: 'image-inventory-negative',
      title: `${image} without ${tool} in its inventory: clone-mysql fails fast naming the tool, container and image`,
      run: async () => {
        const expected = `clone-mysql: ${tool} not found in image ${image} (see README "Images")`;
        // `kubectl apply`: the controller creates mysql-0 and waits for it, which never comes.
        const rollout = sts.reconcile(60_000).then(
          () => 'Ready',
          () => 'not Ready',
        );
        const p0 = () => sts.pod(0);
        await waitFor(
          'clone-mysql on mysql-0 to fail',
          30_000,
          () => sts.pods.has(0) && p0().events.some((e) => /init container clone-mysql exited [1-9]/.test(e)),
          100,
        );
        const pod = p0();
        const exit = pod.events.find((e) => e.includes('init container clone-mysql exited'))!;
        const log = pod.logs('clone-mysql').trim().split('\n');
        if (!/exited 127$/.test(exit)) throw new Error(`expected exit 127: ${exit}`);
        if (log[0] !== expected)
          throw new Error(
            `clone-mysql's first log line is ${JSON.stringify(log[0])}, expected ${JSON.stringify(expected)}`,
          );
        if (!pod.events.some((e) => e.includes('init container init-mysql exited 0')))
          throw new Error('init-mysql (mysql image, inventory intact) did not succeed first');
        if (pod.ready || sts.pods.has(1)) throw new Error('the rollout went on without the clone');
        if (pod.events.some((e) => e.includes('container xtrabackup started')))
          throw new Error('the sidecar started although the init container failed');
        const hostHasTool = fs.existsSync(`/usr/bin/${tool}`);
        return (
          `${exit.slice(13)}; log: "${log[0]}"; init-mysql exited 0 before it; mysql-0 ${pod.readyColumn}, ` +
          `not Ready, mysql-1 never created (rollout ${await Promise.race([rollout, Promise.resolve('still waiting')])}); ` +
          `the host has /usr/bin/${tool}: ${hostHasTool} (so only the inventory kept it out)`
        );
      },
    },
  ];
}
