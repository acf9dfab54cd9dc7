/**
 * Fakes for the backup scripts' tests: an `aws` command that keeps objects as files (the subcommands the
 * scripts use: s3 cp to and from "-", s3api head-object, s3api list-objects-v2), and xbstream-format streams.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ScriptSandbox } from './script-runner';

/** Installs the fake `aws`; objects live under `<sandbox>/s3/<bucket>/<key>`. Returns that directory. */
export function fakeAws(box: ScriptSandbox): string {
  const store = box.dir('s3');
  box.fake(
    'aws',
    `store="${store}"
[[ \${1-} == --endpoint-url ]] && shift 2
obj() { local u=\${1#s3://}; echo "$store/$u"; }
case "$1 $2" in
  "s3 cp")
    if [[ $3 == - ]]; then
      [[ -f "$store/.fail-upload" ]] && { echo "upload failed: simulated" >&2; exit 1; }
      f=$(obj "$4"); mkdir -p "$(dirname "$f")"; cp "$FAKE_STDIN" "$f"
      [[ -f "$store/.corrupt-after-upload" && $4 == *backup.xbstream ]] && printf 'x' >>"$f"
      [[ -f "$store/.flip-after-upload" && $4 == *backup.xbstream ]] && printf 'Z' | dd of="$f" bs=1 seek=3 conv=notrunc 2>/dev/null
      [[ -f "$store/.alter-manifest" && $4 == *manifest.json ]] && printf ' ' >>"$f"
      exit 0
    fi
    f=$(obj "$3"); [[ -f $f ]] || { echo "download failed: (404) Not Found" >&2; exit 1; }
    cat "$f" ;;
  "s3api head-object")
    f="$store/$4/$6"; [[ -f $f ]] || exit 254
    stat -c %s "$f" ;;
  "s3api list-objects-v2")
    dir="$store/$4"; prefix=$6
    keys=$(cd "$dir" 2>/dev/null && find . -type f -path "./$prefix*" -name manifest.json | sed 's|^\\./||' | sort | paste -sd '\\t')
    echo "\${keys:-None}" ;;
  *) echo "fake aws: unexpected $*" >&2; exit 2 ;;
esac`,
  );
  return store;
}

/** One xbstream chunk ("XBSTCK01", flags, type P, path length, path, payload length, offset, checksum, payload). */
function chunk(file: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(8 + 1 + 1 + 4);
  head.write('XBSTCK01', 0, 'latin1');
  head.writeUInt8(0, 8);
  head.write('P', 9, 'latin1');
  head.writeUInt32LE(Buffer.byteLength(file), 10);
  const lengths = Buffer.alloc(20);
  lengths.writeBigUInt64LE(BigInt(payload.length), 0);
  lengths.writeBigUInt64LE(0n, 8);
  lengths.writeUInt32LE(0, 16);
  return Buffer.concat([head, Buffer.from(file, 'latin1'), lengths, payload]);
}

/** The end-of-file chunk of a file ("XBSTCK01", flags, type E, path length, path). */
function eofChunk(file: string): Buffer {
  const head = Buffer.alloc(14);
  head.write('XBSTCK01', 0, 'latin1');
  head.write('E', 9, 'latin1');
  head.writeUInt32LE(Buffer.byteLength(file), 10);
  return Buffer.concat([head, Buffer.from(file, 'latin1')]);
}

/** An xbstream of the given files, in order. */
export function xbstream(files: [string, string | Buffer][]): Buffer {
  return Buffer.concat(
    files.flatMap(([name, content]) => [chunk(name, Buffer.from(content)), eofChunk(name)]),
  );
}

/** Writes `data` to a file in the sandbox and returns its path. */
export function writeFile(box: ScriptSandbox, rel: string, data: string | Buffer): string {
  const file = path.join(box.root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  return file;
}

/**
 * A fuller fake `aws` for the binlog archiver and point-in-time restore: objects as files under
 * `<sandbox>/s3/<bucket>/<key>`, user metadata beside them in `<key>.meta` (`--metadata k=v`), LastModified
 * from the file's mtime. Subcommands: s3 cp (file or - to s3://, s3:// to file or -), s3api head-object
 * (--query ContentLength | Metadata.sha256, or the JSON), s3api list-objects-v2 (--query 'Contents[].Key' or
 * 'Contents[].[Key, LastModified]', text output, "None" when empty). `<store>/.fail-<n>` fails the n-th upload.
 */
export function fakeAwsObjects(box: ScriptSandbox): string {
  const store = box.dir('s3');
  box.fake(
    'aws',
    `store="${store}"
[[ \${1-} == --endpoint-url ]] && shift 2
obj() { local u=\${1#s3://}; echo "$store/$u"; }
opt() { local name=$1; shift; while (($#)); do [[ $1 == "$name" ]] && { echo "$2"; return; }; shift; done; }
case "$1 $2" in
  "s3 cp")
    src=$3 dst=$4
    if [[ $dst == s3://* ]]; then
      n=$(( $(cat "$store/.uploads" 2>/dev/null || echo 0) + 1 )); echo $n >"$store/.uploads"
      [[ -f "$store/.fail-$n" ]] && { echo "upload failed: simulated" >&2; exit 1; }
      f=$(obj "$dst"); mkdir -p "$(dirname "$f")"
      if [[ $src == - ]]; then cp "$FAKE_STDIN" "$f"; else cp "$src" "$f"; fi
      meta=$(opt --metadata "$@"); [[ -z $meta ]] || echo "$meta" >"$f.meta"
      [[ -f "$store/.corrupt-after-upload" ]] && printf 'x' >>"$f"
      exit 0
    fi
    f=$(obj "$src"); [[ -f $f ]] || { echo "download failed: (404) Not Found" >&2; exit 1; }
    if [[ $dst == - ]]; then cat "$f"; else cp "$f" "$dst"; fi ;;
  "s3api head-object")
    f="$store/$(opt --bucket "$@")/$(opt --key "$@")"; [[ -f $f ]] || { echo "(404) Not Found" >&2; exit 254; }
    size=$(stat -c %s "$f"); sha=$(sed -n 's/^sha256=//p' "$f.meta" 2>/dev/null)
    case $(opt --query "$@") in
      ContentLength) echo "$size" ;;
      Metadata.sha256) echo "\${sha:-None}" ;;
      *) printf '{"ContentLength": %s, "Metadata": {%s}}\\n' "$size" "\${sha:+\\"sha256\\": \\"$sha\\"}" ;;
    esac ;;
  "s3api list-objects-v2")
    dir="$store/$(opt --bucket "$@")"; prefix=$(opt --prefix "$@"); q=$(opt --query "$@")
    keys=$(cd "$dir" 2>/dev/null && find . -type f -path "./$prefix*" ! -name '*.meta' | sed 's|^\\./||' | sort)
    [[ -n $keys ]] || { echo None; exit 0; }
    if [[ $q == 'Contents[].Key' ]]; then paste -sd '\\t' <<<"$keys"; else
      while read -r k; do printf '%s\\t%s\\n' "$k" "$(date -u -d "@$(stat -c %Y "$dir/$k")" +%Y-%m-%dT%H:%M:%S.000Z)"; done <<<"$keys"
    fi ;;
  *) echo "fake aws: unexpected $*" >&2; exit 2 ;;
esac`,
  );
  return store;
}
