#!/bin/sh
# End-to-end test of `vggtop plot`: two 2-epoch runs on a made-up CIFAR-100 (random pixels, fine label i % 100)
# give every figure of the seed as SVG (titles, axis labels, legend entries and series counted in the file's
# text), PNG (signature and size read from the header, --size and --dpi obeyed) and PDF (header, one page), into
# the run's figures/ folder or --out, the comparisons with one series per run; a run whose predictions.csv is
# gone still gets its history figures and one line naming the file; bad flags, a run without epochs and a
# folder that cannot be written exit 2 with one line and leave no file, temporary or not. Then `vggtop export`:
# the runs' histories as one CSV and as JSON lines (read back with Python's csv and json, every value equal to
# history.csv's), per_class.csv the same way, and its bad input.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
cd "$TMP" || exit 1

data="$TMP/cifar-100-binary"
made_up_cifar100 "$data" 200 100
for r in a b; do
    lr=0.01
    [ $r = b ] && lr=0.05
    "$VGGTOP" train --model mlp --data "$data" --epochs 2 --lr $lr --threads 1 --run-dir $r >$r.log 2>&1 ||
        fatal "train $r exited $? ($(tail -2 $r.log))"
done

# The text of a PLplot SVG (each character is written as &#x..;) and its series, one line each.
svg_text() { python3 -c '
import html, re, sys
s = open(sys.argv[1]).read()
try:
    print("\n".join(html.unescape(t) for t in re.findall(r"<tspan[^>]*>(.*?)</tspan>", s, re.S)))
except BrokenPipeError:  # grep -q stops reading at its first match
    pass' "$1" 2>/dev/null; }
series() { # FILE WIDTH: the polylines drawn at that width (the data: 1.5, the legend samples: 2)
    grep -c "stroke-width=\"$2\"" "$1"
}

"$VGGTOP" plot a --format svg >out 2>err || fail "plot a --format svg exited $? ($(cat err))"
[ -s err ] && fail "plot wrote to stderr: $(cat err)"
for f in accuracy loss mse top5 confusion roc roc-zoom samples f1; do
    grep -qx "a/figures/$f.svg" out || fail "a/figures/$f.svg not listed: $(cat out)"
    [ -s "a/figures/$f.svg" ] || fail "a/figures/$f.svg not written"
done
[ "$(wc -l <out)" -eq 9 ] || fail "one run gave $(wc -l <out) figures, not 9 (no comparison of one run)"
svg_text a/figures/accuracy.svg >t
for want in "Training Accuracy vs Validation Accuracy" "Num of Epochs" "Accuracy" "train" "validation"; do
    grep -qx "$want" t || fail "accuracy.svg lacks '$want': $(tr '\n' '|' <t)"
done
[ "$(series a/figures/accuracy.svg 1.500000e+00)" -eq 2 ] || fail "accuracy.svg: not 2 series"
svg_text a/figures/loss.svg | grep -qx "Training Loss vs Validation Loss" || fail "loss.svg has no title"
svg_text a/figures/confusion.svg >t
grep -qx "Confusion Matrix" t && grep -qx "Predicted label" t && grep -qx "True label" t || fail "confusion.svg text"
grep -qx "apple" t || fail "confusion.svg names no class"
svg_text a/figures/roc.svg >t
grep -q "^micro-average ROC curve (area = 0\.[0-9][0-9])$" t || fail "roc.svg: no micro average in the legend"
grep -q "^macro-average ROC curve (area = " t || fail "roc.svg: no macro average"
[ "$(grep -c '^ROC curve of class ' t)" -eq 3 ] || fail "roc.svg: not the first three classes"
grep -q "^ROC curve of class apple (area = " t || fail "roc.svg: class 0 is not named"
svg_text a/figures/roc-zoom.svg | grep -q "zoomed" || fail "roc-zoom.svg title"
svg_text a/figures/samples.svg | grep -q "^true: " || fail "samples.svg: no captions"
svg_text a/figures/f1.svg | grep -qx "F1-score" || fail "f1.svg: no axis label"

# Two runs: each run's figures prefixed by its folder, and the comparisons, one series per run.
"$VGGTOP" plot a b --out both --format svg --what accuracy,compare >out 2>err || fail "plot a b exited $? ($(cat err))"
for f in a-accuracy b-accuracy compare-val_acc compare-val_loss compare-val_mse; do
    grep -qx "both/$f.svg" out || fail "both/$f.svg not listed: $(cat out)"
done
[ "$(series both/compare-val_acc.svg 1.500000e+00)" -eq 2 ] || fail "compare-val_acc.svg: not one series per run"
svg_text both/compare-val_acc.svg >t
grep -qx "mlp, lr 0.01" t && grep -qx "mlp, lr 0.05" t || fail "the legend does not tell the runs apart: $(tr '\n' '|' <t)"

# PNG: its size from the header; PDF: one page.
png_size() { python3 -c 'import struct, sys; d = open(sys.argv[1], "rb").read(24); assert d[:8] == b"\x89PNG\r\n\x1a\n"; print("%dx%d" % struct.unpack(">II", d[16:24]))' "$1"; }
"$VGGTOP" plot a --out png --what roc >/dev/null 2>err || fail "plot --what roc exited $? ($(cat err))"
[ "$(png_size png/a-roc.png)" = 1200x900 ] || fail "default PNG size $(png_size png/a-roc.png)"
"$VGGTOP" plot a --out png --what f1 --size 4x3 --dpi 100 >/dev/null 2>err || fail "plot --size exited $?"
[ "$(png_size png/a-f1.png)" = 400x300 ] || fail "--size 4x3 --dpi 100 gave $(png_size png/a-f1.png)"
"$VGGTOP" plot a --out pdf --what loss --format pdf >/dev/null 2>err || fail "plot --format pdf exited $?"
[ "$(head -c 4 pdf/a-loss.pdf)" = "%PDF" ] || fail "a-loss.pdf is not a PDF"
[ "$(grep -ac '/Type /Page$\|/Type /Page[^s]' pdf/a-loss.pdf)" -ge 1 ] || fail "a-loss.pdf has no page"
"$VGGTOP" plot a --out titled --what loss --format svg --title 'My #1 run' >/dev/null 2>err || fail "--title exited $?"
svg_text titled/a-loss.svg | grep -qx "My #1 run" || fail "--title not drawn as given"

# A run whose predictions.csv is gone: the history figures, and one line per figure that needs the file.
cp -r a nopred && rm -rf nopred/predictions.csv nopred/figures
"$VGGTOP" plot nopred --format svg >out 2>err || fail "plot of a run without predictions exited $? ($(cat err))"
[ "$(wc -l <out)" -eq 4 ] || fail "without predictions: $(wc -l <out) figures, not the 4 of the history"
[ "$(grep -c 'nopred/predictions.csv is missing' err)" -eq 5 ] || fail "not one line per skipped figure: $(cat err)"
"$VGGTOP" plot nopred --what confusion >out 2>err
[ $? -eq 2 ] || fail "a figure asked for by name that cannot be drawn: not exit 2"

# Bad input: one line, exit 2, and nothing left in the folder.
mkdir empty
expect_refused() { # COMMAND WANT ARGS...
    cmd=$1 want=$2
    shift 2
    "$VGGTOP" "$cmd" "$@" >out 2>err
    st=$?
    [ $st -eq 2 ] || fail "$cmd $*: exit $st, not 2"
    [ "$(wc -l <err)" -ge 1 ] || fail "$cmd $*: nothing on stderr"
    grep -q -- "$want" err || fail "$cmd $*: '$want' not in: $(cat err)"
    [ -z "$(ls empty)" ] || fail "$cmd $* left files: $(ls empty)"
}
expect_refused plot "'jpeg' is not a format" a --out empty --format jpeg
expect_refused plot "'bars' is not a list of figures" a --out empty --what bars
expect_refused plot "is not a size" a --out empty --size 8by6
expect_refused plot "pixels is larger than" a --out empty --size 100x100 --dpi 1200
expect_refused plot "--dpi" a --out empty --dpi 0
expect_refused plot "unknown option" a --out empty --colour red
expect_refused plot "expected at least one RUN_DIR" --out empty
expect_refused plot "missing" "$TMP/missing" --out empty
mkdir noepochs && cp a/config.json noepochs/
expect_refused plot "no figure written" noepochs --out empty
touch afile
expect_refused plot "not a folder" a --out afile
chmod 555 empty
if [ "$(id -u)" -ne 0 ]; then
    expect_refused plot "cannot write" a --out empty
fi
chmod 755 empty
expect_refused plot "cannot make the folder" a --out "$TMP/no/such/folder"
"$VGGTOP" plot --help >out 2>&1 || fail "plot --help exited $?"
grep -q -- "--what LIST" out || fail "plot --help does not list --what"

# vggtop export: one tidy table of both runs.
"$VGGTOP" export a b --csv table.csv 2>err || fail "export --csv exited $? ($(cat err))"
"$VGGTOP" export a b --json - >table.jsonl 2>err || fail "export --json - exited $? ($(cat err))"
"$VGGTOP" export a b --csv - --per-class >classes.csv 2>err || fail "export --per-class exited $? ($(cat err))"
python3 - <<'PY' || fail "the exported tables do not hold the runs' histories"
import csv, json, math
rows = list(csv.DictReader(open("table.csv")))
lines = [json.loads(l) for l in open("table.jsonl")]
assert len(rows) == 4 and len(lines) == 4, (len(rows), len(lines))
assert list(rows[0])[:4] == ["run", "model", "learning_rate", "epoch"], list(rows[0])
for run, lr in (("a", 0.01), ("b", 0.05)):
    hist = list(csv.DictReader(open(run + "/history.csv")))
    mine = [r for r in rows if r["run"] == run]
    js = [l for l in lines if l["run"] == run]
    assert len(mine) == len(hist) == len(js) == 2
    for h, r, j in zip(hist, mine, js):
        assert r["model"] == "mlp" and float(r["learning_rate"]) == lr and j["learning_rate"] == lr
        assert int(r["epoch"]) == int(h["epoch"]) == j["epoch"]
        for k in ("loss", "acc", "mse", "val_loss", "val_acc", "val_mse", "lr", "seconds"):
            assert math.isclose(float(r[k]), float(h[k]), rel_tol=1e-6, abs_tol=1e-9), (k, r[k], h[k])
            assert math.isclose(j[k], float(h[k]), rel_tol=1e-6, abs_tol=1e-9), (k, j[k], h[k])
per = list(csv.DictReader(open("classes.csv")))
assert len(per) == 2 * 2 * 100, len(per)
assert per[0]["class_name"] == "apple" and per[0]["class"] == "0", per[0]
src = list(csv.DictReader(open("a/per_class.csv")))
assert [float(p["f1"]) for p in per[:200]] == [float(s["f1"]) for s in src]
PY
expect_refused export "say where the table goes" a
expect_refused export "give one of --csv and --json" a --csv x --json y
# A sweep folder: its one figure, best val_acc against each swept setting (a panel each, the best trial named),
# in sweep/figures or --out; a sweep with no finished epoch is refused with one line.
"$VGGTOP" sweep --runs sw --model mlp --data "$data" --epochs 1 --threads 1 --lr 0.05,0.001 --momentum 0,0.5 \
    >sw.log 2>&1 || fatal "sweep exited $? ($(tail -2 sw.log))"
"$VGGTOP" plot sw >out 2>err || fail "plot SWEEP_DIR exited $? ($(cat err))"
[ "$(cat out)" = sw/figures/sweep.png ] || fail "plot SWEEP_DIR wrote: $(cat out)"
[ "$(png_size sw/figures/sweep.png)" = 1200x900 ] || fail "the sweep's PNG is $(png_size sw/figures/sweep.png)"
"$VGGTOP" plot sw --format svg --out sweepfig >out 2>err || fail "plot SWEEP_DIR --format svg exited $? ($(cat err))"
[ "$(cat out)" = sweepfig/sw-sweep.svg ] || fail "plot SWEEP_DIR --out wrote: $(cat out)"
for t in "val_acc by lr" "lr (log10)" "val_acc by momentum" "best val_acc" "trials"; do
    svg_text sweepfig/sw-sweep.svg | grep -qxF "$t" || fail "the sweep's SVG has no '$t'"
done
best=$("$VGGTOP" sweep --status sw | sed -n 3p | awk '{print $1}')
svg_text sweepfig/sw-sweep.svg | grep -q "^best: trial $best (0\.[0-9]\{4\})$" || fail "the sweep's SVG does not name trial $best as the best"
mkdir -p sw0
cp sw/sweep.json sw0/
expect_refused plot "no trial has finished an epoch" sw0
expect_refused export "expected at least one RUN_DIR" --csv x
expect_refused export "missing" "$TMP/missing" --csv x
expect_refused export "cannot create" a --csv "$TMP/no/such/table.csv"
[ ! -e x ] || fail "a refused export wrote x"
finish
