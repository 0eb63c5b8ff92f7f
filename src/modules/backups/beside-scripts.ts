/**
 * The scripts the tools containers of archive-beside run. Each writes one part of a native archive
 * (zstd frames of one tar stream) into a file Marina made and bind-mounted at PART.
 */
import { ODOO_DATA_DIR } from '../instances/odoo-container.js';

/** The exit code of a tools container that cannot work beside the data (and did nothing). */
export const BESIDE_UNAVAILABLE = 75;
export const PART = '/out/part';

/**
 * What a tools container says on lines of their own: that it can work beside the data and starts
 * (BEGAN), and, as it exits, that its part is written, with when it began, when pg_dump ended (the
 * dump's) and when it ended. tar's own messages start with "tar: ".
 */
export const BEGAN = 'marina-began';
export const ENDED = 'marina-ended';
/**
 * "marina-followed N M": the dump's N data files compressed while pg_dump wrote them, and M smaller
 * ones archived during the dump, once written.
 */
export const FOLLOWED = 'marina-followed';

/**
 * $1 is the sha256 of what Marina wrote into the part's file before: a container that reads the
 * same shares Marina's files. Each container appends to its file.
 */
const PREAMBLE = `
if ! [ -f ${PART} ] || [ "$(sha256sum < ${PART} | cut -d ' ' -f 1)" != "$1" ]; then echo "the engine does not see Marina's files" >&2; exit ${BESIDE_UNAVAILABLE}; fi
if ! command -v zstd >/dev/null || ! tar --version 2>/dev/null | grep -q 'GNU tar' || ! dd --version 2>/dev/null | grep -q coreutils || ! find --version 2>/dev/null | grep -q GNU; then
  echo "the tools image lacks GNU tar, GNU find, coreutils or zstd" >&2; exit ${BESIDE_UNAVAILABLE}
fi
began=$EPOCHREALTIME
echo ${BEGAN} >&2
trap 'echo "${ENDED} $began \${dumped:-} $EPOCHREALTIME" >&2' EXIT
`;

/** tar writes 32 KiB records: one block per record was a write(2) per 512 bytes, 5× slower. */
const BLOCKING = 64;

/**
 * Regular files only, named from `find`'s list (a link is never followed, a hard link is stored as
 * a file), mode 0600 and owner 0 as Marina's archives always had.
 */
const TAR = `tar --create --file=- --format=gnu --blocking-factor=${BLOCKING} --owner=0 --group=0 --numeric-owner --mode=0600 --hard-dereference --null --no-recursion --files-from=-`;

/** A data file is followed from this size on: smaller ones cost more to follow than to archive after. */
export const FOLLOW_FROM_BYTES = 8 * 1024 * 1024;

/**
 * pg_dump -Fd -j N into the scratch volume (as `dumpToScratch` runs it), then its folder as the
 * archive's dump part. $2 the database, $3 the jobs, $4 `more` when the filestore part follows, $5
 * the size from which a data file is compressed while pg_dump writes it.
 *
 * pg_dump dumps the largest table first and it ends last: compressed after pg_dump, its file took
 * about 2 s for 470 MB, while a core had sat half idle during the dump. So a data file that reaches
 * $5 bytes is followed: every 0.2 s its new bytes, once there is a MiB of them, go through zstd as
 * one more frame of its own compressed file, until no process holds it open (a worker opens each
 * file once, writes it and closes it). pg_dump never rewrites what it wrote. After pg_dump, what
 * any followed file gained since is fed the same way, so none ends short.
 *
 * The smaller data files go through tar once no process holds them, each round's as one more piece.
 * Whole means listed in the round before and not held when this round began: its size, read after
 * that, is then its last (a file made and closed between two looks could have been listed short).
 * Why: pg_dump's other job writes them while the largest table is dumped, so tables of a few MiB
 * need not wait for its end. (The benchmark's Odoo has 100 such files, nearly empty: there the time
 * after pg_dump did not move.) toc.dat, written last, waits for pg_dump's end.
 * After pg_dump, the files left go through tar. Each time tar's end (two zero blocks, and zeros up
 * to a whole record) is left off: pg_dump's names are short, so each file is one header block and its
 * content in whole blocks, and where the end starts is counted from the sizes. What is left off is
 * checked to be exactly that end. dd cuts it in 1 MiB pieces: `head -c` copies 8 KiB at a time,
 * which doubled the part's time. Each followed file then goes in as its header (made by tar from a
 * sparse file of the same size and time), its frame, and the zeros to its last block. Without a
 * filestore part, the tar's end comes last. The followed files stay until the scratch volume goes,
 * beside the join: removing one here waited 0.2–0.3 s for the writeback of what pg_dump had just
 * written, before the part was whole.
 */
export const DUMP_PART = `set -euo pipefail
shopt -s nullglob
${PREAMBLE}
pg_dump --format=directory --jobs="$3" --compress=0 --no-owner --no-privileges --no-publications --no-subscriptions --file /scratch/dump --dbname "$2" &
dumping=$!
mkdir -p /scratch/followed /scratch/stand
declare -A fed=() whole=() held=() sizes=() small=() listed=()
feed() {
  if [ "$2" -gt "\${fed[$1]}" ] && [ $(($2 - fed[$1])) -ge "$3" ]; then
    dd if="$1" bs=1M iflag=skip_bytes,count_bytes skip="\${fed[$1]}" count=$(($2 - fed[$1])) status=none | zstd -1 -q -c >> "/scratch/followed/\${1##*/}.zst"
    fed[$1]=$2
  fi
}
# The files named in $1 (./NAME, NUL-ended), whose tar entries take $2 bytes, through tar into the part
# with tar's end left off and checked, then removed; zstd on $3 threads (0: every core).
archive_unfollowed() {
  local record=$((512 * ${BLOCKING}))
  local end=$((($2 + 1024 + record - 1) / record * record - $2))
  (cd /scratch/dump && ${TAR} --remove-files --transform='s,^\\./,dump/,' < "$1") | { dd bs=1M iflag=fullblock,count_bytes count="$2" status=none; cat > /scratch/dump-end; } | zstd -1 -T"$3" -q -c >> ${PART}
  if [ "$(stat -c %s /scratch/dump-end)" -ne "$end" ] || [ "$(tr -d '\\000' < /scratch/dump-end | wc -c)" -ne 0 ]; then
    echo "tar's end was not where it was counted" >&2; exit 4
  fi
}
early=0
while kill -0 "$dumping" 2>/dev/null; do
  held=()
  while IFS= read -r -d '' f; do held[$f]=1; done < <(find /proc/[0-9]*/fd -lname '/scratch/dump/*' -printf '%l\\0' 2>/dev/null)
  sizes=()
  small=()
  while IFS= read -r -d '' entry; do
    name=\${entry#* }
    if [ "\${entry%% *}" -ge "$5" ]; then sizes[$name]=\${entry%% *}; elif [[ \${name##*/} == [0-9]*.dat ]]; then small[$name]=\${entry%% *}; fi
  done < <(find /scratch/dump -name '*.dat' -printf '%s %p\\0' 2>/dev/null)
  for f in "\${!sizes[@]}"; do
    [ -z "\${whole[$f]:-}" ] || continue
    fed[$f]=\${fed[$f]:-0}
    if [ -n "\${held[$f]:-}" ]; then feed "$f" "\${sizes[$f]}" 1048576; else feed "$f" "\${sizes[$f]}" 1; whole[$f]=1; fi
  done
  content=0
  ended=0
  for f in "\${!small[@]}"; do
    [ -z "\${held[$f]:-}" ] && [ -n "\${listed[$f]:-}" ] || continue
    content=$((content + 512 + (small[$f] + 511) / 512 * 512))
    ended=$((ended + 1))
    printf './%s\\0' "\${f##*/}"
  done > /scratch/ended
  if [ "$ended" -gt 0 ]; then archive_unfollowed /scratch/ended "$content" 1; early=$((early + ended)); fi
  listed=()
  for f in "\${!small[@]}"; do listed[$f]=1; done
  # A round ends after 0.2 s or as pg_dump exits, whichever is first.
  sleep 0.2 &
  napping=$!
  wait -n "$dumping" "$napping" || true
  kill "$napping" 2>/dev/null || true
done
wait "$dumping"
dumped=$EPOCHREALTIME
for f in "\${!fed[@]}"; do feed "$f" "$(stat -c %s -- "$f")" 1; done
cd /scratch/dump
declare -A followed=()
for f in "\${!fed[@]}"; do
  if [ "$(stat -c %s -- "$f")" -eq "\${fed[$f]}" ]; then followed[\${f##*/}]=1; else rm -f "/scratch/followed/\${f##*/}.zst"; fi
done
echo "${FOLLOWED} \${#followed[@]} $early" >&2
content=0
while IFS= read -r -d '' entry; do
  size=\${entry%% *}
  name=\${entry#* }
  [ -z "\${followed[$name]:-}" ] || continue
  if [ \${#name} -ge 90 ]; then echo "pg_dump wrote a file name too long to count" >&2; exit 4; fi
  content=$((content + 512 + (size + 511) / 512 * 512))
  printf './%s\\0' "$name"
done < <(find . -type f -printf '%s %P\\0') > /scratch/others
archive_unfollowed /scratch/others "$content" 0
for name in $(printf '%s\\n' "\${!followed[@]}" | sort); do
  size=$(stat -c %s -- "$name")
  truncate -s "$size" "/scratch/stand/$name"
  touch -r "$name" "/scratch/stand/$name"
  { (cd /scratch/stand && printf './%s\\0' "$name" | ${TAR} --transform='s,^\\./,dump/,' 2>/dev/null) || true; } | head -c 512 > /scratch/header
  if [ "$(stat -c %s /scratch/header)" -ne 512 ]; then echo "tar made no header for $name" >&2; exit 4; fi
  zstd -1 -q -c < /scratch/header >> ${PART}
  cat "/scratch/followed/$name.zst" >> ${PART}
  pad=$(((512 - size % 512) % 512))
  if [ "$pad" -gt 0 ]; then head -c "$pad" /dev/zero | zstd -1 -q -c >> ${PART}; fi
done
if [ "$4" != more ]; then head -c 1024 /dev/zero | zstd -1 -q -c >> ${PART}; fi
`;

/**
 * The filestore folder $2 as the archive's last part. A tenant's filestore is hostile: the folder
 * is refused when it is a symbolic link, and checked once entered (see COPY_FILESTORE). A database
 * that never stored an attachment has no folder: an empty part. zstd takes one core, beside pg_dump.
 */
export const FILES_PART = `set -euo pipefail
${PREAMBLE}
from="${ODOO_DATA_DIR}/filestore/$2"
if [ -L ${ODOO_DATA_DIR}/filestore ] || [ -L "$from" ]; then echo "refusing a filestore folder that is a symbolic link" >&2; exit 3; fi
if [ -d "$from" ]; then
  cd -P -- "$from"
  if [ "$(pwd -P)" != "$from" ]; then echo "the filestore folder was replaced during the backup" >&2; exit 3; fi
  find . -type f -print0 | ${TAR} --transform='s,^\\./,filestore/,' | zstd -1 -q -c >> ${PART}
else
  ${TAR} < /dev/null | zstd -1 -q -c >> ${PART}
fi
`;
