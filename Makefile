# qinfer: `make` builds lib/libqinfer.a and the drivers (at the top of the tree);
# `make test` runs every test; `make CROSS=aarch64-linux-gnu-` cross-builds into
# build/aarch64-linux-gnu/; `make install PREFIX=/usr/local` installs.
# CC, CFLAGS, LDFLAGS, PREFIX and DESTDIR are the user's: the project's own
# flags are added to them, never replace them.
CROSS   ?=
ifeq ($(origin CC),default)
  CC    := $(CROSS)gcc
endif
ifeq ($(origin AR),default)
  AR    := $(CROSS)ar
endif
LD_R    ?= $(CROSS)ld -r
OBJCOPY ?= $(CROSS)objcopy
CFLAGS  ?= -O2 -g
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -pthread -Ilib $(CFLAGS)
QCFLAGS := $(BASE_CFLAGS) $(EXTRA_CFLAGS)
DEPFLAGS = -MMD -MP
# the gate builds paths into fixed buffers, checked where it matters (gcc's warning; clang has none)
NO_TRUNC_WARN := $(shell $(CC) -Werror -Wno-format-truncation -x c -E /dev/null >/dev/null 2>&1 && echo -Wno-format-truncation)
LINK     = $(CC) $(QCFLAGS) $(LDFLAGS)
LDLIBS  := -lm -pthread
SHARED  ?= ../shared

ifeq ($(CROSS),)
  B   := build/native
  BIN := .
  LIB := lib/libqinfer.a
else
  B   := build/$(patsubst %-,%,$(CROSS))
  BIN := $(B)
  LIB := $(B)/libqinfer.a
endif

LIB_DIRS  := base formats kernels engine text session
LIB_SRC   := $(wildcard lib/*.c $(LIB_DIRS:%=lib/%/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o)
HEADERS   := $(wildcard lib/*.h $(LIB_DIRS:%=lib/%/*.h))
# every object of the library with all its symbols: for the tests of its
# internals and the project's tools (LIB is what others link)
LIB_ALL   := $(B)/libqinfer-internal.a

# Each SIMD file is compiled for its own ISA (and to nothing on the other
# architecture); the dispatcher calls it only on a CPU that has it.
TARGET    := $(shell $(CC) -dumpmachine)
ifneq ($(findstring x86_64,$(TARGET)),)
$(B)/lib/kernels/x86_avx2.o:       KFLAGS := -mavx2 -mfma -mf16c
$(B)/lib/kernels/x86_avx512.o:     KFLAGS := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mf16c
$(B)/lib/kernels/x86_avx512vnni.o: KFLAGS := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mfma -mf16c
$(B)/lib/kernels/x86_amx.o:        KFLAGS := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mfma -mf16c \
                                      -mamx-tile -mamx-int8 -mamx-bf16
endif
ifneq ($(findstring aarch64,$(TARGET)),)
$(B)/lib/kernels/arm_dotprod.o:    KFLAGS := -march=armv8.2-a+dotprod+fp16
$(B)/lib/kernels/arm_i8mm.o:       KFLAGS := -march=armv8.2-a+dotprod+i8mm+fp16
endif
# The SIMD levels' files: SIMD_CFLAGS are added to their flags only, and
# PLAIN_SIMD=1 leaves EXTRA_CFLAGS out of them, for builds whose
# instrumentation is for other code (make fuzz: no fuzz target reaches a
# kernel). Both keep sanitized CI builds short: clang instruments the
# always-inlined tiles slowly (x86_avx512vnni.c at -O1: 20 s plain, 40 s
# with ASan, 128 s with UBSan, 24 s with UBSan but its pointer-overflow check).
SIMD_OBJ  := $(filter $(B)/lib/kernels/x86_% $(B)/lib/kernels/arm_%,$(LIB_OBJ))
ifneq ($(PLAIN_SIMD),)
$(SIMD_OBJ): QCFLAGS := $(BASE_CFLAGS) $(SIMD_CFLAGS)
else
$(SIMD_OBJ): QCFLAGS += $(SIMD_CFLAGS)
endif
DRIVERS   := qinfer
# the judge's parts (drivers/gate): its library, then the judge and the worker
GATE_SRC  := $(filter-out drivers/gate/judge.c drivers/gate/worker.c,$(wildcard drivers/gate/*.c))
GATE_LIB  := $(B)/libgate.a
GATE_HDR  := $(wildcard drivers/gate/*.h)
TOOLS     := synth
TEST_SRC  := $(wildcard test/test_*.c)
TEST_BIN  := $(TEST_SRC:%.c=$(B)/%)
# The tests' knobs: every test program, and the test builds of qinfer, bench
# and the gate worker (in $(TBIN)), link test/reference_config.c in place of
# lib/inference_config.c, so an edit of the knob file never changes what the
# suite asserts (a program's own definition keeps the archive's out).
REF_KNOBS := $(B)/test/reference_config.o
TBIN      := $(B)/test/bin
# fuzz targets (test/fuzz): with replay.c in every build, with libFuzzer in `make fuzz`
FUZZ      := gguf tokenizer chat protocol
FUZZ_BIN  := $(FUZZ:%=$(B)/test/fuzz/fuzz_%)

.PHONY: all test clean synth model seeds check-aarch64 judge worker fuzz asan ubsan tsan install uninstall
.SECONDARY:
# bench/ holds the benchmark scripts, so the bench executable lives there too
all: $(LIB) $(DRIVERS:%=$(BIN)/%) $(BIN)/bench/bench $(TOOLS:%=$(B)/tools/%) $(TEST_BIN) $(FUZZ_BIN) judge worker \
	$(TBIN)/qinfer $(TBIN)/bench/bench

# the gate: the judge (built from the anchor by ./gate) and the worker (built
# from each tree under test); sample.i is what the judge's protocol check reads
judge: $(B)/drivers/gate/judge
worker: $(B)/drivers/gate/worker
$(B)/drivers/gate/judge: $(B)/drivers/gate/judge.o $(GATE_LIB) $(LIB)
	$(LINK) $^ -o $@ $(LDLIBS)
# static: in its sandbox the worker may read its model and nothing of /usr/lib
WORKER_LDFLAGS ?= -static
$(B)/drivers/gate/worker: $(B)/drivers/gate/worker.o $(B)/drivers/gate/protocol.o $(LIB)
	$(LINK) $(WORKER_LDFLAGS) $^ -o $@ $(LDLIBS)
$(B)/%.i: %.c $(HEADERS) | dirs
	$(CC) $(QCFLAGS) -E $< -o $@

# files that #include another kernel file
$(B)/lib/kernels/x86_avx512vnni.o: lib/kernels/x86_avx512.c
$(B)/lib/kernels/arm_dotprod.o $(B)/lib/kernels/arm_i8mm.o: lib/kernels/arm_neon.c

# header dependencies: the .d files the compiler writes (-MMD)
$(B)/%.o: %.c | dirs
	$(CC) $(QCFLAGS) $(DEPFLAGS) $(KFLAGS) -c $< -o $@
-include $(shell find $(B) -name '*.d' 2>/dev/null)

# The library people link: the objects partially linked into one, in which
# only the functions lib/qinfer.h declares stay global (everything else is
# made local), so that an app may define forward, gguf_open or pool_new too.
$(B)/qinfer-api.txt: lib/qinfer.h | dirs
	grep -o 'qi_[a-z0-9_]*(' $< | tr -d '(' | sort -u >$@
$(LIB): $(LIB_OBJ) $(B)/qinfer-api.txt
	$(LD_R) $(LIB_OBJ) -o $(B)/qinfer.o
	$(OBJCOPY) --keep-global-symbols=$(B)/qinfer-api.txt $(B)/qinfer.o
	@rm -f $@
	$(AR) rcs $@ $(B)/qinfer.o
$(LIB_ALL): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# the command-line tool: drivers/cli.c (not named like the public header)
$(BIN)/qinfer: $(B)/drivers/cli.o $(LIB)
	$(LINK) $^ -o $@ $(LDLIBS)

$(BIN)/bench/bench: $(B)/drivers/bench.o $(B)/drivers/gate/bandwidth.o $(LIB)
	@mkdir -p $(BIN)/bench
	$(LINK) $^ -o $@ $(LDLIBS)

$(B)/tools/%: $(B)/tools/%.o $(LIB_ALL)
	$(LINK) $^ -o $@ $(LDLIBS)

$(GATE_LIB): $(GATE_SRC:%.c=$(B)/%.o)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/drivers/gate/%.o: drivers/gate/%.c | dirs
	$(CC) $(QCFLAGS) $(DEPFLAGS) $(NO_TRUNC_WARN) -c $< -o $@

$(B)/test/%: $(B)/test/%.o $(REF_KNOBS) $(GATE_LIB) $(LIB_ALL)
	$(LINK) $^ -o $@ $(LDLIBS)
$(TBIN)/qinfer: $(B)/drivers/cli.o $(REF_KNOBS) $(LIB_ALL)
	@mkdir -p $(TBIN)
	$(LINK) $^ -o $@ $(LDLIBS)
$(TBIN)/bench/bench: $(B)/drivers/bench.o $(B)/drivers/gate/bandwidth.o $(REF_KNOBS) $(LIB_ALL)
	@mkdir -p $(TBIN)/bench
	$(LINK) $^ -o $@ $(LDLIBS)
$(B)/test/worker: $(B)/drivers/gate/worker.o $(B)/drivers/gate/protocol.o $(REF_KNOBS) $(LIB_ALL)
	$(LINK) $^ -o $@ $(LDLIBS)

# the hostile worker test_sandbox starts: built as ./gate builds a worker
# (gcc, static), whatever this build's compiler and sanitizers
$(B)/test/test_sandbox: | $(B)/test/sandbox_probe
# the worker test_worker speaks to: this build's own, with the tests' knobs
$(B)/test/test_worker: | $(B)/test/worker
$(B)/test/sandbox_probe: test/sandbox_probe.c | dirs
	$(CROSS)gcc -O2 -std=c11 -D_GNU_SOURCE -pthread -static $< -o $@

$(B)/test/%.o: test/%.c | dirs
	$(CC) $(QCFLAGS) $(DEPFLAGS) -Itest -c $< -o $@

$(B)/test/fuzz/fuzz_%: $(B)/test/fuzz/fuzz_%.o $(B)/test/fuzz/replay.o $(REF_KNOBS) $(GATE_LIB) $(LIB_ALL)
	$(LINK) $^ -o $@ $(LDLIBS)
$(B)/test/fuzz/%.o: test/fuzz/%.c | dirs
	$(CC) $(QCFLAGS) $(DEPFLAGS) -c $< -o $@

dirs:
	@mkdir -p $(LIB_DIRS:%=$(B)/lib/%) $(B)/drivers/gate $(B)/tools $(B)/test/fuzz

# the fuzz targets' GGUF seeds and the hostile files test_reliability loads:
# written here, never committed (a python3 with numpy, as test_train_tiny uses)
SEEDS  := build/fuzz-seeds/gguf
PYTHON ?= $(firstword $(foreach p,python3 /usr/bin/python3,$(shell $(p) -c 'import numpy' 2>/dev/null && echo $(p))))
seeds: $(SEEDS)/.done
$(SEEDS)/.done: test/fuzz/make_seeds.py tools/train_tiny/gguf_out.py
	@[ -n "$(PYTHON)" ] || { echo "make: the fuzz seeds need python3 with numpy (apt-get install python3-numpy)"; exit 1; }
	$(PYTHON) test/fuzz/make_seeds.py $(SEEDS)
	@touch $@

# The synthetic model takes its tokenizer from the vocabulary in $(SHARED).
# Without that file make stops (a model that cannot read text is no use to the
# tests); `make synth` also writes again a model already there that does not
# carry the vocabulary's tokenizer (one an older synth wrote without it). synth
# writes a temporary file and renames it: the path never holds a partial model.
# TYPE picks the official file it imitates (q4_0, q4_k_m, q5_k_m, q6_k, q8_0,
# fp16); the tests use the q4_0 one.
TYPE  ?= q4_0
SYNTH ?= models/qwen2.5-0.5b-synth-$(TYPE).gguf
SYNTH_Q4 := models/qwen2.5-0.5b-synth-q4_0.gguf
VOCAB := $(SHARED)/vocab/qwen2/qwen2.5-vocab.gguf
synth: $(SYNTH)
	@build/native/tools/synth -q --type $(TYPE) --check $(SYNTH) --vocab $(VOCAB) >/dev/null 2>&1 || { \
		echo "make: $(SYNTH) does not carry the tokenizer of $(VOCAB), or is not of TYPE $(TYPE): writing it again"; \
		build/native/tools/synth --type $(TYPE) --vocab $(VOCAB) -o $(SYNTH); }
models/qwen2.5-0.5b-synth-%.gguf: $(VOCAB) | build/native/tools/synth
	@mkdir -p $(dir $@)
	build/native/tools/synth --type $* --vocab $(VOCAB) -o $@
ifeq ($(filter models/qwen2.5-0.5b-synth-%.gguf,$(SYNTH)),)
$(SYNTH): $(VOCAB) | build/native/tools/synth
	@mkdir -p $(dir $@)
	build/native/tools/synth --type $(TYPE) --vocab $(VOCAB) -o $@
endif
$(VOCAB):
	@echo "make: $@ is missing: the synthetic model takes its tokenizer from it" \
		"(make SHARED=DIR names the folder of the shared fixtures)" >&2; exit 1

model:
	@sh tools/download-model.sh $(TYPE)

# make install PREFIX=/usr/local [DESTDIR=staging]: the header, the library,
# qinfer.pc for pkg-config (cc $$(pkg-config --cflags --libs qinfer) app.c)
# and the CLI; make uninstall removes exactly those files
PREFIX  ?= /usr/local
VERSION := $(shell sed -n 's/^\#define QINFER_VERSION "\(.*\)"/\1/p' lib/qinfer.h)
INSTALLED := include/qinfer.h lib/libqinfer.a lib/pkgconfig/qinfer.pc bin/qinfer
install: $(LIB) $(BIN)/qinfer
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 lib/qinfer.h $(DESTDIR)$(PREFIX)/include/qinfer.h
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libqinfer.a
	install -m 755 $(BIN)/qinfer $(DESTDIR)$(PREFIX)/bin/qinfer
	printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$${prefix}/include' 'libdir=$${prefix}/lib' '' \
		'Name: qinfer' 'Description: Qwen2 GGUF models on the CPU' 'Version: $(VERSION)' \
		'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lqinfer -lm -pthread' \
		>$(DESTDIR)$(PREFIX)/lib/pkgconfig/qinfer.pc
uninstall:
	rm -f $(INSTALLED:%=$(DESTDIR)$(PREFIX)/%)

# TEST_CC and TEST_CFLAGS: what test_readme.sh compiles the README's example
# with, to link it against this build's library (a sanitizer's flags included)
test: all $(SYNTH_Q4) seeds
	@QINFER_SHARED=$(SHARED) TEST_CC="$(CC)" TEST_CFLAGS="$(EXTRA_CFLAGS)" sh test/run.sh $(B) $(TBIN)

# The whole suite on aarch64 under qemu: once on a CPU with dotprod and i8mm,
# once on one with neither (plain NEON). The synthetic model comes from the
# native tool.
QEMU ?= qemu-aarch64 -L /usr/aarch64-linux-gnu
check-aarch64: $(SYNTH_Q4) seeds
	$(MAKE) CROSS=aarch64-linux-gnu- all
	@SHARED=$(SHARED) QEMU="$(QEMU)" sh test/check-aarch64.sh

# Sanitizer builds of everything, each in its own folder, and the whole suite
# run on them (the gate's own judge and workers are built by ./gate as usual)
# (the README's example is compiled with the same compiler and sanitizer flags)
SAN_VARS = CC=clang B=build/$@ LIB=build/$@/libqinfer.a BIN=build/$@ CFLAGS="-O1 -g" WORKER_LDFLAGS=
# (UBSan's pointer-overflow check is left out of the SIMD files: it alone
# made their build minutes long; the rest of UBSan and ASan stay on)
SAN_SIMD = SIMD_CFLAGS=-fno-sanitize=pointer-overflow
# make asan: AddressSanitizer (LeakSanitizer included) and UBSan in one build,
# the one CI runs (one build and one run of the suite fewer; with both CI took
# 2417 s of its 2400 here); make ubsan: UBSan alone
ASAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
UBSAN_FLAGS := -fsanitize=undefined -fno-sanitize-recover=all
asan: seeds
	$(MAKE) -j$$(nproc) $(SAN_VARS) $(SAN_SIMD) EXTRA_CFLAGS="$(ASAN_FLAGS)" all
	@QINFER_SHARED=$(SHARED) QINFER_SANITIZER=asan TEST_CC=clang TEST_CFLAGS="$(ASAN_FLAGS)" ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 sh test/run.sh build/asan build/asan/test/bin
ubsan: seeds
	$(MAKE) -j$$(nproc) $(SAN_VARS) $(SAN_SIMD) EXTRA_CFLAGS="$(UBSAN_FLAGS)" all
	@QINFER_SHARED=$(SHARED) QINFER_SANITIZER=ubsan TEST_CC=clang TEST_CFLAGS="$(UBSAN_FLAGS)" UBSAN_OPTIONS=print_stacktrace=1 sh test/run.sh build/ubsan build/ubsan/test/bin

# ThreadSanitizer on one model shared by four sessions generating at once, and on
# the API tests (their pools include one with more threads than CPUs)
tsan:
	$(MAKE) -j$$(nproc) $(SAN_VARS) EXTRA_CFLAGS="-fsanitize=thread" build/tsan/test/test_concurrency build/tsan/test/test_api
	TSAN_OPTIONS=halt_on_error=1 build/tsan/test/test_concurrency
	QINFER_SHARED=$(SHARED) TSAN_OPTIONS=halt_on_error=1 build/tsan/test/test_api

# libFuzzer on each target for FUZZ_TIME seconds (FUZZ_JOBS at once, default the CPU count), from its seed corpus
# (test/fuzz/corpus/T, build/fuzz-seeds/gguf); new inputs go to build/fuzz/corpus-T, crashes to
# build/fuzz/crash-T-*: copy each into test/fuzz/regress/T/ and fix it
FUZZ_TIME ?= 60
FUZZ_FLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
fuzz: seeds
	$(MAKE) -j$$(nproc) CC=clang B=build/fuzz LIB=build/fuzz/libqinfer.a BIN=build/fuzz CFLAGS="-O1 -g" PLAIN_SIMD=1 \
		EXTRA_CFLAGS="$(FUZZ_FLAGS)" build/fuzz/libqinfer-internal.a build/fuzz/libgate.a \
		$(FUZZ:%=build/fuzz/test/fuzz/fuzz_%.o)
	@for t in $(FUZZ); do \
		clang -fsanitize=fuzzer,address,undefined build/fuzz/test/fuzz/fuzz_$$t.o build/fuzz/libgate.a \
			build/fuzz/libqinfer-internal.a -o build/fuzz/fuzz_$$t -lm -pthread || exit 1; \
	done
	@QINFER_SHARED=$(SHARED) FUZZ_TIME=$(FUZZ_TIME) sh test/fuzz/run.sh $(FUZZ)

clean:
	rm -rf build lib/libqinfer.a $(DRIVERS) bench/bench
