/**
 * All-or-nothing publishing of several folders of `dist/` (every profile and `argocd/`).
 *
 * The new folders are staged inside `dist/.synth-new/` (same filesystem, so every later step is a
 * rename). Then a journal `dist/.synth-journal` is written (atomically: write, rename): from that
 * moment the publish is committed. Each old folder is moved to `dist/.synth-old/` and its new one into
 * place; then the journal is removed and the leftovers deleted. A run that dies at any point (SIGKILL,
 * power loss) leaves either no journal (the old tree is whole: the leftovers are deleted) or a journal
 * (the next run finishes the swaps before it does anything else). An error while swapping (EACCES,
 * EBUSY) rolls the moved folders back, so `dist/` is the old tree again.
 */
import * as fs from 'fs';
import * as path from 'path';

export const NEW_DIR = '.synth-new';
export const OLD_DIR = '.synth-old';
export const JOURNAL = '.synth-journal';

/** Called after each filesystem step of a publish, with the step's name; a test's crash hook. */
export type StepHook = (step: string) => void;

/** Thrown when publishing failed; says exactly what state `dist/` is in. */
export class PublishError extends Error {
  constructor(
    message: string,
    /** `unchanged`: dist/ is the old tree. `journal`: a journal is left; the next run finishes the publish. */
    public readonly state: 'unchanged' | 'journal',
  ) {
    super(message);
    this.name = 'PublishError';
  }
}

const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Written whole or not at all (a rename). Not fsynced: the guarantee is against a process that dies
 * (SIGKILL, OOM, Ctrl-C), which the page cache survives; an fsync would cost ~10 ms of every synth and,
 * without fsyncing every directory too, would still not make the swaps durable across a power loss
 * (after one, `git status dist/` shows what to restore).
 */
function writeJournal(distDir: string, folders: readonly string[]): void {
  const tmp = path.join(distDir, `${JOURNAL}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify({ folders }) + '\n');
  fs.renameSync(tmp, path.join(distDir, JOURNAL));
}

const exists = (p: string): boolean => fs.existsSync(p);

/** Moves one staged folder into place (old one aside first). Idempotent, so recovery can repeat it. */
function swapOne(distDir: string, folder: string, step: StepHook): void {
  const target = path.join(distDir, folder);
  const fresh = path.join(distDir, NEW_DIR, folder);
  const old = path.join(distDir, OLD_DIR, folder);
  if (!exists(fresh)) return; // already swapped
  if (exists(target) && !exists(old)) {
    fs.renameSync(target, old);
    step(`moved-old:${folder}`);
  }
  fs.renameSync(fresh, target);
  step(`moved-new:${folder}`);
}

function cleanup(distDir: string, step: StepHook): void {
  for (const d of [NEW_DIR, OLD_DIR, `${JOURNAL}.tmp`]) {
    fs.rmSync(path.join(distDir, d), { recursive: true, force: true });
  }
  step('cleaned');
}

/**
 * Brings `dist/` back to a consistent tree after an interrupted publish; call before anything else.
 * @returns what was done, for the user, or undefined if there was nothing to do
 */
export function recoverDist(distDir: string, step: StepHook = () => {}): string | undefined {
  const journalFile = path.join(distDir, JOURNAL);
  if (exists(journalFile)) {
    const { folders } = JSON.parse(fs.readFileSync(journalFile, 'utf8')) as { folders: string[] };
    for (const f of folders) swapOne(distDir, f, step);
    fs.rmSync(journalFile);
    step('journal-removed');
    cleanup(distDir, step);
    return `finished an interrupted publish of dist/ (${folders.join(', ')}): dist/ is the tree that run synthesized`;
  }
  const leftovers = [NEW_DIR, OLD_DIR, `${JOURNAL}.tmp`].filter((d) => exists(path.join(distDir, d)));
  if (leftovers.length === 0) return undefined;
  cleanup(distDir, step);
  return `removed ${leftovers.map((d) => `dist/${d}`).join(', ')} left by an interrupted run that never published: dist/ is the tree before it`;
}

/** The folder to stage `folder` in; `publish` moves it into place. */
export function stagingFolder(distDir: string, folder: string): string {
  return path.join(distDir, NEW_DIR, folder);
}

/** Prepares an empty staging area in `distDir` (after `recoverDist`). */
export function startStaging(distDir: string): void {
  fs.mkdirSync(distDir, { recursive: true });
  fs.rmSync(path.join(distDir, NEW_DIR), { recursive: true, force: true });
  fs.rmSync(path.join(distDir, OLD_DIR), { recursive: true, force: true });
  fs.mkdirSync(path.join(distDir, NEW_DIR), { mode: 0o755 });
}

/** Removes the staging area of a synth that failed before publishing. */
export function abandonStaging(distDir: string): void {
  fs.rmSync(path.join(distDir, NEW_DIR), { recursive: true, force: true });
}

/**
 * Swaps every staged folder into place, all or nothing.
 * @throws PublishError saying whether dist/ is unchanged or will be finished by the next run
 */
export function publish(distDir: string, folders: readonly string[], step: StepHook = () => {}): void {
  step('staged');
  // Fail before the commit point on what would fail a rename: write access to dist/ and to each folder
  // that moves (renaming a directory to another parent rewrites its "..").
  for (const p of [distDir, ...folders.map((f) => path.join(distDir, f)).filter(exists)]) {
    try {
      fs.accessSync(p, fs.constants.W_OK);
    } catch (err) {
      abandonStaging(distDir);
      throw new PublishError(
        `cannot publish: ${path.relative(process.cwd(), p) || p} is not writable (${errText(err)}); ` +
          'fix its permissions (e.g. chmod u+w) and run again. Nothing was moved: dist/ was left unchanged.',
        'unchanged',
      );
    }
  }
  try {
    fs.mkdirSync(path.join(distDir, OLD_DIR));
    writeJournal(distDir, folders);
  } catch (err) {
    cleanup(distDir, () => {});
    throw new PublishError(
      `cannot publish: writing the journal failed (${errText(err)}). Nothing was moved: dist/ was left unchanged.`,
      'unchanged',
    );
  }
  step('journal-written');
  const done: string[] = [];
  try {
    for (const f of folders) {
      swapOne(distDir, f, step);
      done.push(f);
    }
  } catch (err) {
    rollBack(distDir, folders, err);
  }
  fs.rmSync(path.join(distDir, JOURNAL));
  step('journal-removed');
  try {
    cleanup(distDir, step);
  } catch {
    // dist/<profile> folders are all new; a leftover .synth-old/ is deleted by the next run.
  }
}

/** Undoes the swaps of a publish that failed halfway; never returns. */
function rollBack(distDir: string, folders: readonly string[], cause: unknown): never {
  try {
    for (const f of [...folders].reverse()) {
      const target = path.join(distDir, f);
      const fresh = path.join(distDir, NEW_DIR, f);
      const old = path.join(distDir, OLD_DIR, f);
      if (!exists(fresh) && exists(target)) fs.renameSync(target, fresh); // was swapped: take it back out
      if (exists(old)) fs.renameSync(old, target);
    }
    fs.rmSync(path.join(distDir, JOURNAL));
    cleanup(distDir, () => {});
  } catch (err) {
    throw new PublishError(
      `publishing failed (${errText(cause)}) and so did undoing it (${errText(err)}). dist/ is mid-swap; ` +
        `${JOURNAL} is kept, so the next \`npm run synth\` finishes the publish before anything else.`,
      'journal',
    );
  }
  throw new PublishError(
    `publishing failed (${errText(cause)}); every folder moved was moved back: dist/ was left unchanged.`,
    'unchanged',
  );
}
