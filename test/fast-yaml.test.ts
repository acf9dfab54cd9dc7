import { App, Testing } from 'cdk8s';
import { cdk8sStringify, stringify } from '../charts/fast-yaml';
import { addMysqlStack } from '../charts/mysql-stack';
import { PROFILES } from '../charts/profiles';

describe('fast YAML output', () => {
  test.each(Object.keys(PROFILES))('is byte for byte what cdk8s writes, for every chart of %s', (name) => {
    const app = Testing.app();
    addMysqlStack(app as App, PROFILES[name]);
    for (const chart of app.charts) {
      const docs = chart.toJson();
      expect(stringify(...docs)).toBe(cdk8sStringify(...docs));
    }
  });
  test('an object used twice is written twice, not as an anchor and alias', () => {
    const shared = { app: 'mysql' };
    expect(stringify({ a: shared, b: shared })).toBe('a:\n  app: mysql\nb:\n  app: mysql\n');
    expect(cdk8sStringify({ a: shared, b: shared })).toContain('*a1');
  });
});
