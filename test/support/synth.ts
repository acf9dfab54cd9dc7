import { Testing } from 'cdk8s';
import { ConfigError, MysqlStackConfig, validateConfig } from '../../charts/config';
import { addMysqlStack, MysqlStack } from '../../charts/mysql-stack';

/** A Kubernetes object as synthesized (parsed YAML). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type K8sObject = Record<string, any>;

/** Synthesizes one profile in memory: every object, in chart order, plus the stack for direct access. */
export function synthStack(config: MysqlStackConfig): { stack: MysqlStack; objects: K8sObject[] } {
  const app = Testing.app();
  const stack = addMysqlStack(app, config);
  const objects = app.charts.flatMap((chart) => Testing.synth(chart) as K8sObject[]);
  return { stack, objects };
}

/** The one object of a kind (and name, if given); fails the test when there is not exactly one. */
export function only(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
}

/** A container (or init container) of a pod spec, by name. */
export function container(podSpec: K8sObject, name: string): K8sObject {
  const all = [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])];
  const c = all.find((x: K8sObject) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

/** A copy of a config with some fields replaced (deep for the nested records used in tests). */
export function withChanges(base: MysqlStackConfig, changes: Record<string, unknown>): MysqlStackConfig {
  const copy = JSON.parse(JSON.stringify(base));
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split('.');
    let target = copy;
    for (const k of keys.slice(0, -1)) target = target[k] ??= {};
    if (value === undefined) delete target[keys[keys.length - 1]];
    else target[keys[keys.length - 1]] = value;
  }
  return copy;
}

/** Every problem `validateConfig` reports for a config changed from `base`; throws if it is accepted. */
export function configProblems(base: MysqlStackConfig, changes: Record<string, unknown>): string[] {
  try {
    validateConfig(withChanges(base, changes));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error(`config with ${JSON.stringify(changes)} was accepted`);
}

/** The single problem reported for a config changed from `base`. */
export function configProblem(base: MysqlStackConfig, changes: Record<string, unknown>): string {
  const problems = configProblems(base, changes);
  expect(problems).toHaveLength(1);
  return problems[0];
}
