import { ResolvedConfig } from './config';

/** The selector label: `app: <name>`. Fixed for the life of the StatefulSet (selectors are immutable). */
export function selectorLabels(c: ResolvedConfig): Record<string, string> {
  return { app: c.name };
}

/** Labels for every object's metadata: the configured common labels plus the selector label. */
export function objectLabels(c: ResolvedConfig): Record<string, string> {
  return { ...c.labels, ...selectorLabels(c) };
}
