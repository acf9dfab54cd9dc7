import { PROFILES } from '../charts/profiles';
import { only, synthStack } from './support/synth';

/**
 * Every image is pinned to an exact release: a floating tag (`mysql:8.4`, `:latest`, no tag) lets two nodes
 * run two different images, and neither need be the one the harness's inventories describe.
 */
const FLOATING = /^(latest|\d+|\d+\.\d+)$/;

/** The tag of an image reference, or undefined (a `:port` in the registry host is not a tag). */
function tagOf(ref: string): string | undefined {
  const noDigest = ref.split('@')[0];
  const lastSegment = noDigest.slice(noDigest.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  return colon < 0 ? undefined : lastSegment.slice(colon + 1);
}

/** Why `ref` is not pinned, or undefined when it is. */
function floating(ref: string): string | undefined {
  if (/@sha256:[a-f0-9]{64}$/.test(ref)) return undefined;
  const tag = tagOf(ref);
  if (tag === undefined) return 'has no tag (means :latest)';
  if (FLOATING.test(tag)) return `has the floating tag :${tag}`;
  return undefined;
}

describe('image pins', () => {
  const images = Object.entries(PROFILES).flatMap(([name, p]) =>
    (['mysql', 'xtrabackup'] as const).map((key) => [`${name}.images.${key}`, p.images[key]] as const),
  );
  test.each(images)('%s (%s) is an exact version or a digest', (_field, ref) => {
    expect(floating(ref)).toBeUndefined();
  });

  test('the rule itself: floating tags and missing tags are caught; versions and digests pass', () => {
    expect(floating('mysql:5.7')).toBe('has the floating tag :5.7');
    expect(floating('mysql:8')).toBe('has the floating tag :8');
    expect(floating('percona/percona-xtrabackup:2.4')).toBe('has the floating tag :2.4');
    expect(floating('mysql:latest')).toBe('has the floating tag :latest');
    expect(floating('mysql')).toBe('has no tag (means :latest)');
    expect(floating('registry.example.com:5000/mysql')).toBe('has no tag (means :latest)');
    expect(floating('mysql:8.4.10')).toBeUndefined();
    expect(floating('percona/percona-xtrabackup:8.4.0-6.1')).toBeUndefined();
    expect(floating(`mysql@sha256:${'a'.repeat(64)}`)).toBeUndefined();
    expect(floating(`mysql:8.4@sha256:${'b'.repeat(64)}`)).toBeUndefined();
  });
});

describe.each(Object.keys(PROFILES))('%s: every script container is told its image', (name) => {
  const sts = only(synthStack(PROFILES[name]).objects, 'StatefulSet');
  const spec = sts.spec.template.spec;
  // The chart's own scripts (the exporter's config writer is the monitoring chart's, without a tool check).
  const scripted = [...spec.initContainers, ...spec.containers].filter(
    (c: { name: string; command?: string[] }) =>
      c.command?.[0] === 'bash' && ['init-mysql', 'clone-mysql', 'xtrabackup'].includes(c.name),
  );
  test('init-mysql, clone-mysql and the xtrabackup sidecar run scripts', () => {
    expect(scripted.map((c: { name: string }) => c.name).sort()).toEqual([
      'clone-mysql',
      'init-mysql',
      'xtrabackup',
    ]);
  });
  test.each(scripted.map((c: { name: string }) => c.name))(
    '%s: CONTAINER_IMAGE is its own image (named by the fail-fast tool check)',
    (container) => {
      const c = scripted.find((x: { name: string }) => x.name === container);
      expect(c.env.find((e: { name: string }) => e.name === 'CONTAINER_IMAGE')).toEqual({
        name: 'CONTAINER_IMAGE',
        value: c.image,
      });
    },
  );
});
