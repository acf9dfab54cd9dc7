import * as fs from 'fs';
import * as yaml from 'js-yaml';
import * as path from 'path';

/** The committed output folder. */
export const DIST = path.join(__dirname, '..', '..', 'dist');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

/** Every object in dist/<folder>/, in file order, as `kubectl apply -f dist/<folder>/` reads them. */
export function distObjects(folder: string): Obj[] {
  const dir = path.join(DIST, folder);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.k8s.yaml'))
    .sort()
    .flatMap((f) => yaml.loadAll(fs.readFileSync(path.join(dir, f), 'utf8')) as Obj[]);
}

/** The folders under dist/: one per profile, plus argocd/. */
export function distFolders(): string[] {
  return fs
    .readdirSync(DIST, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}
