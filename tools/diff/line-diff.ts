/**
 * A compact unified line diff for multi-line strings (embedded scripts, config files), so that a review
 * shows the lines that changed instead of two whole copies of a 100-line script.
 */

interface Op {
  readonly type: ' ' | '-' | '+';
  readonly text: string;
}

/** Lines of a text; a final newline does not make an extra empty line. */
function lines(text: string): string[] {
  const all = text.split('\n');
  if (all.length > 0 && all[all.length - 1] === '') all.pop();
  return all;
}

/** The shortest edit script between two line arrays (longest common subsequence, after trimming). */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  // lcs[i][j]: length of the LCS of midA[i..] and midB[j..]
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = midA[i] === midB[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops: Op[] = a.slice(0, start).map((text) => ({ type: ' ', text }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && midA[i] === midB[j]) {
      ops.push({ type: ' ', text: midA[i] });
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      ops.push({ type: '+', text: midB[j++] });
    } else {
      ops.push({ type: '-', text: midA[i++] });
    }
  }
  for (const text of a.slice(endA)) ops.push({ type: ' ', text });
  // Deletions before insertions inside each run of changes reads best.
  return normalizeRuns(ops);
}

function normalizeRuns(ops: Op[]): Op[] {
  const out: Op[] = [];
  let run: Op[] = [];
  const flush = () => {
    out.push(...run.filter((o) => o.type === '-'), ...run.filter((o) => o.type === '+'));
    run = [];
  };
  for (const op of ops) {
    if (op.type === ' ') {
      flush();
      out.push(op);
    } else {
      run.push(op);
    }
  }
  flush();
  return out;
}

/**
 * Unified diff lines (`@@ -l,n +l,n @@`, ` context`, `-old`, `+new`) with `context` unchanged lines
 * around each change. Empty when the texts are equal.
 */
export function unifiedLineDiff(oldText: string, newText: string, context = 2): string[] {
  if (oldText === newText) return [];
  const a = lines(oldText);
  const b = lines(newText);
  const ops = editScript(a, b);
  const changed = ops.map((o, idx) => (o.type === ' ' ? -1 : idx)).filter((idx) => idx >= 0);
  if (changed.length === 0) {
    // Same lines: only the final newline differs.
    return [oldText.endsWith('\n') ? '(the final newline was removed)' : '(a final newline was added)'];
  }
  // Group the changes into hunks that share context.
  const hunks: Array<[number, number]> = [];
  for (const idx of changed) {
    const from = Math.max(0, idx - context);
    const to = Math.min(ops.length - 1, idx + context);
    const last = hunks[hunks.length - 1];
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else hunks.push([from, to]);
  }
  // Line numbers at each op index.
  const oldNo: number[] = [];
  const newNo: number[] = [];
  let o = 1;
  let n = 1;
  for (const op of ops) {
    oldNo.push(o);
    newNo.push(n);
    if (op.type !== '+') o++;
    if (op.type !== '-') n++;
  }
  const out: string[] = [];
  for (const [from, to] of hunks) {
    const slice = ops.slice(from, to + 1);
    const oldCount = slice.filter((x) => x.type !== '+').length;
    const newCount = slice.filter((x) => x.type !== '-').length;
    out.push(`@@ -${oldNo[from]},${oldCount} +${newNo[from]},${newCount} @@`);
    for (const op of slice) out.push(`${op.type}${op.text}`);
  }
  return out;
}
