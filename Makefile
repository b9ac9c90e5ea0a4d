# vggtop build. `make help` lists the documented targets.
#
# Sources live in one folder per module under src/ (src/nn, src/data, ...), one header per module under
# include/vggtop/. Every variant (release, asan, tsan) builds the same sources into its own folder under
# build/, so `make test` can run the unit tests both optimised and under the sanitizers.

VARIANT ?= release
BUILD   ?= build
OUT     := $(BUILD)/$(VARIANT)

CC      ?= cc
# ompi-c: Open MPI, for data-parallel training (src/train/dist.c; MPI is only initialised under mpirun).
# hdf5: Keras weights files (src/nn/keras_h5.c); Debian names its pkg-config file hdf5-serial. libpng and
# libjpeg: vggtop predict's images (src/data/image.c).
HDF5_PC := $(shell pkg-config --exists hdf5-serial 2>/dev/null && echo hdf5-serial || echo hdf5)
PKGS    := openblas ncursesw zlib libcjson libcurl libarchive libcrypto ompi-c plplot $(HDF5_PC) libpng libjpeg libprotobuf-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN    := -Wall -Wextra -Werror
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude $(PKG_CFLAGS) -MMD -MP
ifeq ($(VARIANT),release)
  OPT := -O2 -g
# The sanitizer builds keep line tables and function names (-g1: all their reports print) but no variables'
# descriptions, which made their compiles about 15% longer.
else ifeq ($(VARIANT),asan)
  OPT := -O1 -g1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else ifeq ($(VARIANT),tsan)
  OPT := -O1 -g1 -fsanitize=thread
else ifeq ($(VARIANT),debug)
  OPT := -O0 -g
else
  $(error VARIANT must be release, asan, tsan or debug)
endif
CFLAGS  ?=
LDFLAGS ?=
ALL_CFLAGS := $(BASE_CFLAGS) $(OPT) $(CFLAGS)
# oneDNN (Debian's libdnnl-dev) ships no pkg-config file; it runs its threads on libgomp (OpenMP), whose
# omp_set_num_threads nn calls itself.
DNNL_LIBS := -ldnnl -lgomp
LIBS    := $(PKG_LIBS) $(DNNL_LIBS) -lpthread -lm

# Modules, lowest first. Every module goes into one static library, libvggtop.a, which the binary (main.o)
# and each cmocka test binary tests/test_<module>[_<part>].c link.
MODULES := util nn data metrics train plot tui cli

srcs_of = $(wildcard src/$(1)/*.c)
objs_of = $(patsubst src/%.c,$(OUT)/obj/%.o,$(call srcs_of,$(1)))

ALL_OBJS := $(foreach m,$(MODULES),$(call objs_of,$(m)))

# ONNX export (src/nn/onnx.c) serialises through protobuf-c's code for ONNX's own onnx.proto, generated here by
# protoc-c (Debian: protobuf-c-compiler; the .proto comes with python3-onnx) and compiled without our warning
# flags (generated code is not ours to fix).
ONNX_PROTO ?= /usr/lib/python3/dist-packages/onnx/onnx.proto
GEN := $(OUT)/gen
ALL_OBJS += $(OUT)/obj/gen/onnx.pb-c.o
# A pattern rule, so that make knows one protoc-c run makes both files (no second run racing it under -j).
$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: $(dir $(ONNX_PROTO))%.proto
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) --proto_path=$(dir $(ONNX_PROTO)) $(notdir $(ONNX_PROTO))
$(OUT)/obj/gen/onnx.pb-c.o: $(GEN)/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out $(WARN),$(ALL_CFLAGS)) -I$(GEN) -c -o $@ $<
$(OUT)/obj/nn/onnx.o: ALL_CFLAGS += -I$(GEN)
$(OUT)/obj/nn/onnx.o: $(GEN)/onnx.pb-c.h
LIB      := $(OUT)/libvggtop.a
BIN      := $(OUT)/vggtop

TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(OUT)/tests/%,$(TEST_SRCS))

.DEFAULT_GOAL := all
.SECONDARY:
.PHONY: all help deps run test unit-build sanitizer-bins unit-all unit unit-bins unit-asan unit-tsan tsan-bins e2e fuzz bench clean FORCE

## all: build the vggtop binary (build/release/vggtop, linked to ./vggtop)
all: $(BIN)
ifeq ($(VARIANT),release)
	@ln -sf $(BIN) vggtop
endif

# Made anew each time: `ar r` into an old archive would keep the objects of deleted sources.
$(LIB): $(ALL_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(OUT)/obj/main.o $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LIBS)

$(OUT)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# nn's kernels loop over channels with run-time trip counts, which -O2's "very cheap" vectoriser model
# leaves scalar; the dynamic model vectorises them (element-wise loops only: results stay bit-identical).
$(OUT)/obj/nn/%.o: ALL_CFLAGS += -fvect-cost-model=dynamic

# The winograd and smallmap backends' other copies, for CPUs with AVX2 and FMA and with AVX-512F (src/nn/isa.c
# says which a CPU runs, at plan time); smallmap's multiply-adds are FMA instructions there.
ifeq ($(shell uname -m),x86_64)
$(OUT)/obj/nn/winograd_avx2.o: ALL_CFLAGS += -mavx2 -mfma
$(OUT)/obj/nn/winograd_avx512.o: ALL_CFLAGS += -mavx512f -mavx2 -mfma
$(OUT)/obj/nn/winograd_bf16.o: ALL_CFLAGS += -mavx512f -mavx512bw -mavx512bf16
$(OUT)/obj/nn/dense_avx2.o: ALL_CFLAGS += -mavx2 -mfma -ffp-contract=fast
$(OUT)/obj/nn/dense_avx512.o: ALL_CFLAGS += -mavx512f -mavx2 -mfma -ffp-contract=fast
$(OUT)/obj/nn/smallmap_avx2.o: ALL_CFLAGS += -mavx2 -mfma -ffp-contract=fast
$(OUT)/obj/nn/smallmap_avx512.o: ALL_CFLAGS += -mavx512f -mavx2 -mfma -ffp-contract=fast
endif

# Under ASan, nn's kernels run at -O2: at -O1 the smallmap backend's loops and the naive reference were half
# of make test's longest binary (ASan's test_nn_conv, 92 s alone; 52 s at -O2). The winograd copies stay at
# -O1, where gcc compiles them in 8-11 s each; with ASan at -O2 it takes 46-73 s.
ifeq ($(VARIANT),asan)
$(OUT)/obj/nn/%.o: ALL_CFLAGS += -O2
$(OUT)/obj/nn/winograd.o $(OUT)/obj/nn/winograd_avx2.o $(OUT)/obj/nn/winograd_avx512.o: ALL_CFLAGS += -O1
endif

$(OUT)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(OUT)/tests/test_%: $(OUT)/tests/test_%.o $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBS)

# One data-parallel step against one process, run under mpirun by tests/e2e/mpi.sh (no cmocka: it needs ranks).
MPI_STEP := $(OUT)/tests/mpi_step
$(MPI_STEP): $(OUT)/tests/mpi_step.o $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The emulated cable with a delay (tests/e2e/lib/netns.sh on kernels without netem): a test tool, not vggtop.
WIRE := $(OUT)/tests/wire
$(WIRE): tests/tools/wire.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<

# The allocation test counts oneDNN's own allocations apart (see tests/test_nn_alloc.c).
$(OUT)/tests/test_nn_alloc: LDFLAGS += -Wl,--wrap=dnnl_primitive_execute
# The threads test keeps OpenBLAS's thread count where ThreadSanitizer sees it (see tests/test_train_threads.c).
$(OUT)/tests/test_train_threads: LDFLAGS += \
    -Wl,--wrap=openblas_set_num_threads,--wrap=openblas_get_num_threads,--wrap=cblas_sgemm

## deps: install the Debian packages the build and tests need (apt-get only for what is missing)
deps:
	@sh src/install-deps.sh

## run: install what is missing, build, and start vggtop
run: deps
	@$(MAKE) --no-print-directory all
	./vggtop

# make test builds with, and runs its unit binaries, JOBS at a time (the machine's cores by default).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# The unit binaries make test runs, slowest variant first so the two lanes end together: every test under
# ASan+UBSan, the threaded ones under ThreadSanitizer, every test optimised.
VARIANT_BINS = $(patsubst tests/%.c,$(BUILD)/$(1)/tests/%,$(TEST_SRCS))
# The threaded tests, the ones built and run under ThreadSanitizer.
TSAN_TESTS := test_train% test_data_download test_data_folder test_nn_pool test_nn_dense
# Under ThreadSanitizer those tests link an archive of the modules up to train alone, so make test does not
# build plot, tui and cli a third time (29 -> 24 s); the other tests and the program link the whole library.
ifeq ($(VARIANT),tsan)
ENGINE_LIB := $(OUT)/libvggtop-engine.a
$(ENGINE_LIB): $(foreach m,util nn data metrics train,$(call objs_of,$(m))) $(OUT)/obj/gen/onnx.pb-c.o
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^
$(filter $(addprefix $(OUT)/tests/,$(TSAN_TESTS)),$(TEST_BINS)): $(OUT)/tests/%: $(OUT)/tests/%.o $(ENGINE_LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBS)
endif

ALL_UNIT_BINS = $(call VARIANT_BINS,asan) \
                $(filter $(addprefix $(BUILD)/tsan/tests/,$(TSAN_TESTS)),$(call VARIANT_BINS,tsan)) \
                $(call VARIANT_BINS,release)

## test: install what is missing, build, run every test (release, ASan+UBSan and TSan unit tests, end-to-end)
# The unit binaries run beside the end-to-end scripts, in the same pool as the concurrent ones (at the lowest
# priority, on the cycles the one-at-a-time scripts leave idle; those scripts use about 0.8 of the 2 cores),
# but for the few that time themselves, which run one at a time at normal priority (tests/tools/run-e2e.sh).
# The sanitizer builds (sanitizer-bins) run at the lowest priority beside the first scripts too, and their
# unit binaries join the pool once built.
test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all unit-bins
	@$(MAKE) --no-print-directory e2e E2E_BUILD=sanitizer-bins E2E_UNIT="$(ALL_UNIT_BINS)"
	@echo "make test: all tests passed"

## unit-build: build the binary and every variant's unit tests
unit-build:
	@$(MAKE) --no-print-directory -j$(JOBS) all unit-bins
	@$(MAKE) --no-print-directory sanitizer-bins

# The ASan build holds a lock: tests/e2e/hostile.sh builds the ASan binary too, maybe at the same time.
sanitizer-bins:
	@mkdir -p $(BUILD)
	@flock $(BUILD)/.asan.lock $(MAKE) --no-print-directory -j$(JOBS) VARIANT=asan unit-bins
	@$(MAKE) --no-print-directory -j$(JOBS) VARIANT=tsan tsan-bins

## unit-all: build the binary and every variant's unit tests, and run those JOBS at a time
unit-all: unit-build
	@sh tests/tools/run-unit.sh -j $(JOBS) $(ALL_UNIT_BINS)

# T=nn limits the unit tests to one module (test_nn*.c); the default runs them all.
T ?=
UNIT_BINS = $(if $(T),$(filter $(OUT)/tests/test_$(T) $(OUT)/tests/test_$(T)_%,$(TEST_BINS)),$(TEST_BINS))

## unit: build and run the cmocka unit tests in this VARIANT (T=module for one module)
unit: $(UNIT_BINS)
	@sh tests/tools/run-unit.sh $(UNIT_BINS)
unit-bins: $(UNIT_BINS)

# The threaded code (the training engine, the download job) also runs under ThreadSanitizer.
TSAN_BINS = $(filter $(addprefix $(OUT)/tests/,$(TSAN_TESTS)),$(TEST_BINS))
## unit-tsan: run the threaded tests under ThreadSanitizer (use with VARIANT=tsan)
unit-tsan: $(TSAN_BINS)
	@sh tests/tools/run-unit.sh $(TSAN_BINS)
tsan-bins: $(TSAN_BINS)

# E=tui limits the end-to-end scripts to one area (tests/e2e/tui.sh and tests/e2e/tui_*.sh; E="tui mpi" to
# two); the default runs them all.
E ?=

## e2e: end-to-end tests of the CLI (golden outputs) and of the front end (tmux) (E=area for one area)
# E2E_UNIT: unit binaries to run in the same pools, E2E_BUILD: the target that builds those not built yet
# (make test's).
E2E_UNIT ?=
E2E_BUILD ?=
e2e: all $(MPI_STEP) $(WIRE)
	@sh tests/tools/run-e2e.sh $(if $(E2E_BUILD),--build $(E2E_BUILD)) $(foreach b,$(E2E_UNIT),--unit $(b)) $(E)

## fuzz: run the libFuzzer harnesses of the data loaders (FUZZ_SECONDS=N each, default 60)
fuzz:
	@sh tests/fuzz/run-fuzz.sh $${FUZZ_SECONDS:-60}

## bench: build and run `vggtop bench` (speed and memory of this machine)
bench: all
	./vggtop bench

## clean: remove build outputs
clean:
	rm -rf $(BUILD) vggtop

## help: list the documented targets
help:
	@grep -E '^## ' Makefile | sed 's/^## /  make /'

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
