/**
 * cdk8s's YAML output, without its most expensive step. cdk8s writes each object with
 * `YAML.stringify(obj, { keepUndefined: true, lineWidth: 0, version: '1.1' })`, whose default
 * `aliasDuplicateObjects: true` first walks every object looking for one used twice, to write it once
 * with an anchor (`&a1`) and then as an alias (`*a1`): 60 % of the YAML time, for objects that cdk8s
 * always builds fresh. Turning the search off gives byte-identical files (tested against cdk8s's own
 * `Yaml.stringify` for every profile); an object that did appear twice would be written out twice,
 * which is what a reviewer and `kubectl` want anyway.
 */
import { Yaml } from 'cdk8s';
import * as YAML from 'yaml';

/** cdk8s's own implementation, kept for the equivalence test. */
export const cdk8sStringify: (...docs: unknown[]) => string = Yaml.stringify.bind(Yaml);

/** The same output as cdk8s's `Yaml.stringify`, without the duplicate-object search. */
export function stringify(...docs: unknown[]): string {
  return docs
    .map((r) =>
      r === undefined
        ? '\n'
        : YAML.stringify(r, {
            keepUndefined: true,
            lineWidth: 0,
            version: '1.1',
            aliasDuplicateObjects: false,
          }),
    )
    .join('---\n');
}

/** Makes `App.synth()` (through `Yaml.save`) use `stringify`. */
export function useFastYaml(): void {
  (Yaml as unknown as { stringify: typeof stringify }).stringify = stringify;
}
