# Sourced by tests/tools/run-unit.sh and tests/tools/run-e2e.sh: the environment every test binary and script
# runs in.
# Page faults cost microseconds each on the virtual machines make test runs on (a clean run there spent a
# third of its CPU time in the kernel, most of it faulting in memory the tests had just freed): glibc's malloc
# is asked to keep freed blocks up to 32 MB for reuse and to back its memory with transparent huge pages. The
# tests assert the same things either way; a value the caller set is kept.
: "${GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824}"
export GLIBC_TUNABLES
# Other libraries' process-wide caches (fontconfig's, through PLplot's cairo driver) are not leaks of ours.
LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")/.." && pwd)/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
