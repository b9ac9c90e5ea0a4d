#!/bin/sh
# End-to-end tests of `vggtop data --download` against a local HTTP server on 127.0.0.1 (tests/tools/http_server.py)
# serving made-up tarballs (tests/tools/cifar100_tarballs.py): a complete download into the default folder, one cut
# halfway and resumed by the retry, a Ctrl-C then a resume by the next run, a server ignoring Range, a
# transient 503, file://, a wrong MD5, a stall, a 404, a refused connection, tarballs with "..", absolute,
# link and unexpected members, bad records, and the flag errors. Nothing may be left half installed.
. "$(dirname "$0")/lib/prologue.sh"
command -v python3 >/dev/null || fatal "python3 is needed (src/install-deps.sh)"
server=
at_exit '[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; rm -rf /tmp/vggtop-evil-absolute.txt'
cd "$TMP" || exit 1
# Only 127.0.0.1: no proxy may take the requests elsewhere, and no Keras cache of the machine's user counts.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy NO_PROXY no_proxy VGGTOP_DATA
export HOME="$TMP/home"
mkdir -p "$HOME"

python3 "$TOP/tests/tools/cifar100_tarballs.py" www || fatal "cannot make the tarballs"
python3 "$TOP/tests/tools/http_server.py" www port requests.log &
server=$!
i=0
while [ ! -s port ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s port ] || fatal "the test server did not start"
url=http://127.0.0.1:$(cat port)
md5() { md5sum "www/$1" | cut -d' ' -f1; }
good=$(md5 cifar-100-binary.tar.gz)
size=$(wc -c <www/cifar-100-binary.tar.gz)

# same_files DIR: DIR holds exactly the tarball's four files, byte for byte.
same_files() {
    for f in train.bin test.bin fine_label_names.txt coarse_label_names.txt; do
        cmp -s "www/expected/$f" "$1/$f" || fail "$1/$f differs from the tarball's"
    done
    [ "$(ls "$1" | wc -l)" -eq 4 ] || fail "$1 holds other files: $(ls "$1")"
}
# nothing_left NAME: no NAME folder, no NAME.tar.gz.part, no NAME.tmp.* next to it.
nothing_left() {
    [ -e "$1" ] && fail "$1 was installed"
    [ -e "$1.tar.gz.part" ] && fail "$1.tar.gz.part was left"
    ls -d "$1".tmp.* >/dev/null 2>&1 && fail "a temporary folder $1.tmp.* was left"
    return 0
}
# expect_error STATUS WORDS ARGS...: exit status, one line on stderr saying WORDS ($within: a command to run it
# under, as "timeout 60").
within=
expect_error() {
    want=$1 word=$2; shift 2
    # shellcheck disable=SC2086
    $within "$VGGTOP" "$@" >out.txt 2>err.txt
    got=$?
    [ "$got" -eq "$want" ] || fail "vggtop $*: exit $got, expected $want ($(cat err.txt))"
    [ "$(wc -l <err.txt)" -eq 1 ] || fail "vggtop $*: stderr is not one line: $(cat err.txt)"
    grep -qF -- "$word" err.txt || fail "vggtop $*: stderr does not say '$word': $(cat err.txt)"
    return 0
}
requests() { grep -c "$1" requests.log; }

# 1. The default folder ./data/cifar-100-binary, plain progress lines (stdout is not a terminal).
"$VGGTOP" data --download --url "$url/files/cifar-100-binary.tar.gz" --md5 "$good" >out.txt 2>err.txt ||
    fail "complete download: exit $? ($(cat err.txt))"
same_files data/cifar-100-binary
[ -e data/cifar-100-binary.tar.gz.part ] && fail "complete download: the tarball was left"
grep -q "^downloading: 100%" out.txt || fail "complete download: no plain progress line: $(cat out.txt)"
grep -q "CIFAR-100 is in ./data/cifar-100-binary" out.txt || fail "complete download: no closing line"
grep -q '\[' out.txt && fail "complete download: a bar was drawn on a non-terminal"
[ -s err.txt ] && fail "complete download: stderr: $(cat err.txt)"
"$VGGTOP" data >out.txt 2>&1 || fail "vggtop data after the download: exit $?"
grep -q '^data set     CIFAR-100, fine labels$' out.txt || fail "vggtop data does not find the download: $(head -3 out.txt)"
grep -q '^train        5 images$' out.txt || fail "vggtop data: not the tarball's 5 images"
# Again: it is there, nothing is fetched.
n=$(requests "GET")
"$VGGTOP" data --download --url "$url/files/cifar-100-binary.tar.gz" --md5 "$good" >out.txt 2>&1 ||
    fail "second download: exit $?"
grep -q "already holds CIFAR-100" out.txt || fail "second download: does not say it is there: $(cat out.txt)"
[ "$(requests GET)" -eq "$n" ] || fail "second download: it asked the server again"

# 2. Cut halfway: the retry resumes with a Range from where the cut left it.
"$VGGTOP" data --download --url "$url/cut/cifar-100-binary.tar.gz" --md5 "$good" --data cut/cifar-100-binary \
    >out.txt 2>err.txt || fail "cut download: exit $? ($(cat err.txt))"
same_files cut/cifar-100-binary
grep -q "GET /cut/cifar-100-binary.tar.gz range=bytes=$((size / 2))-" requests.log ||
    fail "cut download: no resume from byte $((size / 2)): $(cat requests.log)"
grep -q "connection was cut" out.txt || fail "cut download: the retry is not reported: $(cat out.txt)"

# 3. Ctrl-C during a download keeps the partial file; the next run resumes it.
"$VGGTOP" data --download --url "$url/stall/cifar-100-binary.tar.gz" --md5 "$good" --data int/cifar-100-binary \
    >out.txt 2>err.txt &
pid=$!
i=0
part_size() { if [ -f "$1" ]; then wc -c <"$1"; else echo 0; fi; }
while [ "$(part_size int/cifar-100-binary.tar.gz.part)" -lt $((size / 2)) ] && [ $i -lt 100 ]; do
    sleep 0.1; i=$((i + 1))
done
kill -INT $pid
wait $pid
got=$?
[ "$got" -eq 130 ] || fail "Ctrl-C: exit $got, expected 130"
grep -q "interrupted" err.txt || fail "Ctrl-C: no 'interrupted' message: $(cat err.txt)"
[ "$(wc -c <int/cifar-100-binary.tar.gz.part)" -eq $((size / 2)) ] || fail "Ctrl-C: the partial file was not kept"
[ -e int/cifar-100-binary ] && fail "Ctrl-C: something was installed"
"$VGGTOP" data --download --url "$url/files/cifar-100-binary.tar.gz" --md5 "$good" --data int/cifar-100-binary \
    >out.txt 2>err.txt || fail "resume after Ctrl-C: exit $? ($(cat err.txt))"
same_files int/cifar-100-binary
grep -q "GET /files/cifar-100-binary.tar.gz range=bytes=$((size / 2))-" requests.log ||
    fail "resume after Ctrl-C: no Range request"
grep -q "(resuming at $((size / 2)) B)" out.txt || fail "resume after Ctrl-C: not said: $(cat out.txt)"

# 4. A server that ignores Range: the partial file (garbage here) is started over.
mkdir norange
head -c 300 /dev/urandom >norange/cifar-100-binary.tar.gz.part
"$VGGTOP" data --download --url "$url/norange/cifar-100-binary.tar.gz" --md5 "$good" --data norange/cifar-100-binary \
    >out.txt 2>err.txt || fail "server without Range: exit $? ($(cat err.txt))"
same_files norange/cifar-100-binary
grep -q "does not resume downloads: starting over" out.txt || fail "server without Range: not said: $(cat out.txt)"

# 5. A transient 503 is retried; a file:// URL works too.
"$VGGTOP" data --download --url "$url/flaky/cifar-100-binary.tar.gz" --md5 "$good" --data flaky/cifar-100-binary \
    >out.txt 2>err.txt || fail "503 then 200: exit $? ($(cat err.txt))"
same_files flaky/cifar-100-binary
grep -q "HTTP 503; retrying in 1 s (attempt 2 of 3)" out.txt || fail "503: the retry is not reported: $(cat out.txt)"
"$VGGTOP" data --download --url "file://$TMP/www/cifar-100-binary.tar.gz" --md5 "$good" --data file/cifar-100-binary \
    >out.txt 2>err.txt || fail "file:// download: exit $? ($(cat err.txt))"
same_files file/cifar-100-binary

# 6. A wrong MD5 (and the default one, for the made-up tarball): refused, nothing installed, nothing kept.
expect_error 2 "MD5 $good, expected 0123456789abcdef0123456789abcdef" data --download \
    --url "$url/files/cifar-100-binary.tar.gz" --md5 0123456789ABCDEF0123456789abcdef --data md5/cifar-100-binary
nothing_left md5/cifar-100-binary
expect_error 2 "not the 168.5 MB of cifar-100-binary.tar.gz" data --download \
    --url "$url/files/cifar-100-binary.tar.gz" --data md5b/cifar-100-binary
nothing_left md5b/cifar-100-binary

# 7. A stall: the timeout's message, the retries, and the partial file kept for a later resume.
start=$(date +%s)
expect_error 1 "the download stalled: nothing received for 1 s (3 attempts)" data --download \
    --url "$url/stall/cifar-100-binary.tar.gz" --md5 "$good" --data stall/cifar-100-binary --timeout 1
[ $(($(date +%s) - start)) -lt 30 ] || fail "stall: took $(($(date +%s) - start)) s"
grep -q "kept in stall/cifar-100-binary.tar.gz.part" err.txt || fail "stall: the partial file is not named"
[ -e stall/cifar-100-binary ] && fail "stall: something was installed"

# 7b. Downloads that never end once did: a server that ignores Range and cuts every answer (each attempt
# "progressed" from 0 again), one that trickles a byte every 0.4 s (above libcurl's old 1 B/s floor), a file://
# naming a FIFO. Progress is new bytes kept; under 1 kB/s for the timeout gives an attempt up; file:// reads
# regular files only.
within="timeout 60"
expect_error 1 "(3 attempts)" data --download --url "$url/cutall/cifar-100-binary.tar.gz" \
    --md5 "$good" --data cutall/cifar-100-binary --timeout 1
start=$(date +%s)
expect_error 1 "the download stalled: under 1 kB/s for 1 s (3 attempts)" data --download \
    --url "$url/drip/cifar-100-binary.tar.gz" --md5 "$good" --data drip/cifar-100-binary --timeout 1
[ $(($(date +%s) - start)) -lt 30 ] || fail "drip: took $(($(date +%s) - start)) s"
mkfifo fifo.tar.gz
expect_error 2 "fifo.tar.gz: not a regular file (check --url)" data --download \
    --url "file://$TMP/fifo.tar.gz" --md5 "$good" --data fifo/cifar-100-binary --timeout 1
within=
nothing_left fifo/cifar-100-binary

# 8. A 404 and a refused connection.
expect_error 2 "the server answered HTTP 404 (check --url)" data --download --url "$url/files/nothing.tar.gz" \
    --md5 "$good" --data 404/cifar-100-binary
nothing_left 404/cifar-100-binary
[ "$(requests 'GET /files/nothing.tar.gz')" -eq 1 ] || fail "404: retried"
kill "$server" && wait "$server" 2>/dev/null
server=
expect_error 1 "(3 attempts)" data --download --url "$url/files/cifar-100-binary.tar.gz" --md5 "$good" \
    --data refused/cifar-100-binary --timeout 1
nothing_left refused/cifar-100-binary

# 9. Tarballs that must be refused before anything lands outside the temporary folder (file:// from here).
refuse() {
    expect_error 2 "$2" data --download --url "file://$TMP/www/$1" --md5 "$(md5 "$1")" --data "bad-$1/cifar-100-binary"
    nothing_left "bad-$1/cifar-100-binary"
}
refuse evil-dotdot.tar.gz "member 'cifar-100-binary/../evil.txt' leaves the directory (..): refused"
refuse evil-absolute.tar.gz "member '/tmp/vggtop-evil-absolute.txt' has an absolute path: refused"
refuse evil-symlink.tar.gz "member 'cifar-100-binary/test.bin' is a link to '../../evil.txt', which leaves the directory"
refuse extra-member.tar.gz "member 'cifar-100-binary/README' is not one of CIFAR-100's files"
refuse bad-labels.tar.gz "train.bin: record 0: fine label 100 is out of range 0..99"
refuse not-a-tarball.tar.gz "not a gzip'ed tar file"
[ -e evil.txt ] || [ -e bad-evil-dotdot.tar.gz/evil.txt ] || [ -e /tmp/vggtop-evil-absolute.txt ] &&
    fail "an evil member was written"

# A link or a FIFO in place of the partial download: refused, the link's target untouched (the download
# used to be appended to it), nothing installed.
mkdir -p link fifo && echo precious >victim.txt && ln -s "$TMP/victim.txt" link/cifar-100-binary.tar.gz.part
expect_error 2 "link/cifar-100-binary.tar.gz.part: a symbolic link, not a partial download" data --download \
    --url "file://$TMP/www/cifar-100-binary.tar.gz" --md5 "$good" --data link/cifar-100-binary
[ "$(cat victim.txt)" = precious ] || fail "the link's target was written"
[ -e link/cifar-100-binary ] && fail "link: something was installed"
mkfifo fifo/cifar-100-binary.tar.gz.part
expect_error 2 "fifo/cifar-100-binary.tar.gz.part: not a regular file" data --download \
    --url "file://$TMP/www/cifar-100-binary.tar.gz" --md5 "$good" --data fifo/cifar-100-binary

# 10. A folder in the way, and the flags.
mkdir -p busy/cifar-100-binary && echo hi >busy/cifar-100-binary/notes.txt
expect_error 2 "busy/cifar-100-binary exists and does not hold CIFAR-100" data --download \
    --url "file://$TMP/www/cifar-100-binary.tar.gz" --md5 "$good" --data busy/cifar-100-binary
expect_error 2 "--md5 'abc': expected 32 hexadecimal digits" data --download --md5 abc
expect_error 2 "--url goes with --download" data --url "$url/x"
expect_error 2 "--labels does not go with --download" data --download --labels coarse
expect_error 2 "--timeout: '0' is not a whole number in 1..3600 (seconds)" data --download --timeout 0
expect_error 2 "not supported" data --download --url "ftp://127.0.0.1/x" --data ftp/cifar-100-binary
"$VGGTOP" data --help | grep -q -- "--download" || fail "vggtop data --help does not mention --download"

finish
