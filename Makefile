# wasmind — one GNU Makefile (see ../shared/STYLE.md §9).
#
#   make            library + CLI        build/libwasmind.a, build/wasmind
#   make test       install missing Debian packages (as root), build, run
#                   every test; ends with "N passed, N failed"
#   make demo       build and run the example guest program
#   make SAN=address,undefined ...   sanitizer build (objects in build/san)
#   make OPT=-O0 ...                 override optimisation
#   make WM_USE_JUMPTABLE=0 ...      switch-dispatch interpreter

CC      ?= cc
OPT     ?= -O2
SAN     ?=
BUILD   ?= build

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter
CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) -Iinclude -Isrc -MMD -MP
LDFLAGS :=
LDLIBS  := -lm -lpthread

ifneq ($(SAN),)
BUILD   := build/san
CFLAGS  += -fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SAN)
endif
ifneq ($(WM_USE_JUMPTABLE),)
CFLAGS  += -DWM_USE_JUMPTABLE=$(WM_USE_JUMPTABLE)
endif

LIB_SRC := $(sort $(wildcard src/util/*.c src/wasm/*.c src/wasi/*.c \
                             src/nn/*.c src/llm/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
LIB     := $(BUILD)/libwasmind.a
CLI     := $(BUILD)/wasmind

UNIT_SRC := $(sort $(wildcard tests/unit/t_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all clean unit
all: $(LIB) $(CLI)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(CLI): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# The CLI links statically (except under sanitizers, which need the
# dynamic loader): no loader or relocation work at start-up, ~0.3 ms of a
# ~1.4 ms hello-world run (hyperfine -N, min of 1000 runs). CLI_STATIC=0
# to turn it off.
CLI_STATIC ?= 1
ifeq ($(SAN)$(CLI_STATIC),1)
$(CLI): private LDFLAGS += -static
endif

# Unit tests: one binary per tests/unit/t_<area>.c, linked with the library.
$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do $$t || exit 1; done

# Engine tests: one binary per tests/llm/t_<area>.c (tokenizer vectors,
# golden tokens, reference forward pass, corrupt GGUF files); they read
# ../shared/models (MODELS_DIR) and write scratch files under $(BUILD)/tmp.
MODELS_DIR ?= ../shared/models
LLM_TEST_SRC := $(sort $(wildcard tests/llm/t_*.c))
LLM_TEST_BIN := $(LLM_TEST_SRC:tests/llm/%.c=$(BUILD)/tests/llm/%)

.PHONY: llm-test llm-test-build
$(BUILD)/tests/llm/%: tests/llm/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

# t_quant also links quant_avx512.c built a second time over SIMDe's
# portable intrinsics (-DKQ_AVX512_SIMDE, Debian libsimde-dev): the AVX-512
# kernels tested on CPUs without AVX-512 (see src/llm/quant_impl.h).
LLM_SIMDE_OBJ := $(BUILD)/obj/simde/src/llm/quant_avx512.o
$(LLM_SIMDE_OBJ): src/llm/quant_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-psabi -DKQ_AVX512_SIMDE -c $< -o $@

$(BUILD)/tests/llm/t_quant: tests/llm/t_quant.c $(LIB) $(LLM_SIMDE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $< $(LLM_SIMDE_OBJ) $(LIB) -o $@ $(LDFLAGS) \
	    $(LDLIBS)

llm-test-build: $(LLM_TEST_BIN) $(CLI)

llm-test: llm-test-build
	@mkdir -p $(BUILD)/tmp
	@MODELS_DIR=$(MODELS_DIR) WASMIND=$(CLI) WM_TMPDIR=$(BUILD)/tmp \
	    scripts/run-unit.sh $(BUILD) llm

# ==== Tests: unit-build, spec, test, test-san (scripts/run-*.sh) =========
# make spec      convert every non-SIMD .wast in SPEC_DIR with wast2json
#                (only when the .wast is newer) and run the spec runner on
#                each; per-file counts, then "N passed, N failed"
# make test      deps, build, unit + spec, then both again under ASan+UBSan
# make test-san  only the ASan+UBSan part
SPEC_DIR    ?= ../shared/wasm-testsuite
SPEC_OUT    := build/spec
SPEC_NAMES  := $(filter-out simd_%,$(basename $(notdir \
                   $(wildcard $(SPEC_DIR)/*.wast))))
SPEC_STAMPS := $(SPEC_NAMES:%=$(SPEC_OUT)/%/.converted)
SPEC_RUNNER := $(BUILD)/spec-runner

.PHONY: unit-build spec-build spec test test-san
unit-build: $(UNIT_BIN)

$(SPEC_RUNNER): tests/spec/runner.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

$(SPEC_OUT)/%/.converted: $(SPEC_DIR)/%.wast
	@rm -rf $(@D) && mkdir -p $(@D)
	@echo "wast2json $<"
	@wast2json $< -o $(@D)/$*.json
	@touch $@

spec-build: $(SPEC_RUNNER) $(SPEC_STAMPS)

spec: spec-build
	@scripts/run-spec.sh $(SPEC_RUNNER) $(SPEC_OUT) $(SPEC_DIR)

test:
	@SPEC_DIR=$(SPEC_DIR) MAKE=$(MAKE) scripts/run-tests.sh

test-san:
	@SPEC_DIR=$(SPEC_DIR) MAKE=$(MAKE) scripts/run-tests.sh --san

# ==== Guest apps, demo, benchmarks ======================================
# make apps     apps/*.c and apps/*.rs -> $(BUILD)/apps/NAME.wasm (Debian
#               clang + wasi-libc, the headers and libc found without
#               --sysroot; Debian rustc with its wasm32-wasi std); C apps
#               are C11 and warning-clean under $(WARN); also
#               llm-wasm.wasm (apps/llm-wasm/ + src/llm, see its rule)
# make demo     build wasmind + apps, run hello.wasm and a compute guest
# make wasi-check  run the self-checking WASI guest apps/wasitest.c (one
#               "ok NAME" per check; exits 7 when all passed)
# make bench    every benchmark in one go: bench-wasm, bench-llm, bench-nn,
#               bench-serve, bench-wasm-llm, bench-llamacpp (each prints
#               its own same-run ratios; ~30 minutes with the model
#               synthesis)
# make bench-wasm  bench/prog/*.c compiled to wasm32-wasi (clang -O2) and
#               natively (gcc -O2); runs both, best of BENCH_RUNS, checks
#               the outputs agree, prints times, ratios, geomean and the
#               hello-world start-up time. Programs in BENCH_INPUTS
#               (NAME=SIZE) read an input file the driver makes once in
#               $(BUILD)/bench/NAME.input (wasmind gets --dir for it):
#               fileread reads 100 MiB in 64 KiB fd_read chunks
WASM_CC      ?= clang
WASM_CFLAGS  ?= --target=wasm32-wasi -O2
BENCH_CC     ?= gcc
BENCH_CFLAGS ?= -O2
BENCH_RUNS   ?= 3
BENCH_INPUTS ?= fileread=100M

APP_WASM    := $(patsubst apps/%.c,$(BUILD)/apps/%.wasm,$(sort $(wildcard apps/*.c))) \
               $(patsubst apps/%.rs,$(BUILD)/apps/%.wasm,$(sort $(wildcard apps/*.rs))) \
               $(BUILD)/apps/llm-wasm.wasm
BENCH_NAMES := $(basename $(notdir $(sort $(wildcard bench/prog/*.c))))
BENCH_BINS  := $(BENCH_NAMES:%=$(BUILD)/bench/%) \
               $(BENCH_NAMES:%=$(BUILD)/bench/%.wasm)

.PHONY: apps demo demo-run bench bench-wasm wasi-check
apps: $(APP_WASM)

wasi-check: $(CLI) $(BUILD)/apps/wasitest.wasm
	@out=$$(printf 'hello stdin\n' | $(CLI) run --env WASITEST=1 \
	    $(BUILD)/apps/wasitest.wasm alpha 'b e t a' 2>&1); rc=$$?; \
	echo "$$out" | grep -v '^ok '; \
	echo "$$out" | grep -c '^ok ' | sed 's/$$/ WASI checks ok/'; \
	if [ $$rc -ne 7 ]; then echo "wasi-check: FAILED (exit $$rc)"; exit 1; fi

# Every C app links the guest library apps/lib/*.c (wasi_nn.h, chat
# templates, ...); wasm-ld drops what an app does not use, imports
# included, so apps without WASI-NN import nothing from it.
APP_LIB_SRC := $(sort $(wildcard apps/lib/*.c))
APP_LIB_HDR := $(sort $(wildcard apps/lib/*.h))

$(BUILD)/apps/%.wasm: apps/%.c $(APP_LIB_SRC) $(APP_LIB_HDR)
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_CFLAGS) -std=c11 $(WARN) -Iapps/lib $< \
	    $(APP_LIB_SRC) -o $@

# llm-wasm.wasm: the engine itself as a guest, no WASI-NN (the pure-Wasm
# side of `make bench-wasm-llm`): apps/llm-wasm/main.c + src/llm (all of
# it but the model writers) + src/util/{error,arena}.c, built from the
# same sources as the native library. config.h turns threads and mmap off
# under __wasi__: the pool is threads_single.c (threads.c, pthreads, left
# out), GGUF files are read into linear memory; the x86 kernels and CPUID
# are compiled out on wasm32, so the kernels are the scalar reference
# ones. Its own rule: apps/%.c only matches apps/*.c.
LLM_GUEST_SRC := $(filter-out src/llm/synth.c src/llm/quantize.c \
                   src/llm/llama2c.c src/llm/threads.c, \
                   $(sort $(wildcard src/llm/*.c))) \
                 src/util/error.c src/util/arena.c
LLM_GUEST_HDR := $(sort $(wildcard src/llm/*.h src/util/*.h)) src/config.h \
                 include/wasmind.h

$(BUILD)/apps/llm-wasm.wasm: apps/llm-wasm/main.c $(LLM_GUEST_SRC) \
                             $(LLM_GUEST_HDR)
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_CFLAGS) -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude \
	    -Isrc $< $(LLM_GUEST_SRC) -lm -o $@

# Rust guests: Debian's rustc (not whatever rustc is first on PATH: that
# one may lack the wasm32-wasi standard library).
WASM_RUSTC      ?= /usr/bin/rustc
# strip=debuginfo: std's DWARF makes a 6 MB module of a 200 KB program
# (slower to load); the name section stays, so traps keep their backtraces.
WASM_RUSTFLAGS  ?= --target wasm32-wasi --edition 2021 -C opt-level=2 \
                   -C strip=debuginfo

$(BUILD)/apps/%.wasm: apps/%.rs
	@mkdir -p $(dir $@)
	$(WASM_RUSTC) $(WASM_RUSTFLAGS) $< -o $@

# WASI test suite: guests tests/wasi/*.c and *.rs -> $(BUILD)/wasi/NAME.wasm,
# run by tests/wasi/run.sh (expected exit codes and output, sandbox escapes
# checked against the host files afterwards). The example apps are built
# too: tests/wasi/cases/apps.sh runs them from $(BUILD)/apps.
WASI_TEST_WASM := $(patsubst tests/wasi/%.c,$(BUILD)/wasi/%.wasm,$(sort $(wildcard tests/wasi/*.c))) \
                  $(patsubst tests/wasi/%.rs,$(BUILD)/wasi/%.wasm,$(sort $(wildcard tests/wasi/*.rs)))

.PHONY: wasi-test
$(BUILD)/wasi/%.wasm: tests/wasi/%.c
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_CFLAGS) $< -o $@

# The C guests share tests/wasi/wasi_check.h.
$(patsubst tests/wasi/%.c,$(BUILD)/wasi/%.wasm,$(wildcard tests/wasi/*.c)): tests/wasi/wasi_check.h

$(BUILD)/wasi/%.wasm: tests/wasi/%.rs
	@mkdir -p $(dir $@)
	$(WASM_RUSTC) $(WASM_RUSTFLAGS) $< -o $@

wasi-test: $(CLI) $(WASI_TEST_WASM) $(APP_WASM)
	@tests/wasi/run.sh $(CLI) $(BUILD)/wasi

# WASI-NN suite: C guests tests/nn/*.c (with apps/lib) -> $(BUILD)/nn/NAME.wasm,
# run by tests/nn/run.sh with llama-simple.wasm / llama-chat.wasm: greedy
# output equal to `wasmind llm generate` byte for byte (stories260K and
# synthetic models it makes once in $(BUILD)/tmp), misuse from a guest,
# --nn-preload errors, a piped chat. Ends with "N passed, N failed".
NN_TEST_WASM := $(patsubst tests/nn/%.c,$(BUILD)/nn/%.wasm,$(sort $(wildcard tests/nn/*.c)))

.PHONY: nn-test
$(BUILD)/nn/%.wasm: tests/nn/%.c $(APP_LIB_SRC) $(APP_LIB_HDR)
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_CFLAGS) -std=c11 $(WARN) -Iapps/lib $< \
	    $(APP_LIB_SRC) -o $@

nn-test: $(CLI) $(NN_TEST_WASM) $(BUILD)/apps/llama-simple.wasm \
         $(BUILD)/apps/llama-chat.wasm $(BUILD)/apps/llm-wasm.wasm
	@tests/nn/run.sh $(CLI) $(BUILD)/nn $(BUILD)/apps $(MODELS_DIR) \
	    $(BUILD)/tmp

# API server suite: tests/server/run.sh starts `wasmind serve` (the guest
# apps/llama-api-server.c, the web page apps/web) with stories260K on a
# random loopback port and checks it with curl and python clients: the
# OpenAI endpoints against `wasmind llm generate`, streaming, bad requests,
# slow/half-closed/disconnecting clients, a full queue, 20 clients at once.
# Ends with "N passed, N failed".
.PHONY: server-test
server-test: $(CLI) $(BUILD)/apps/llama-api-server.wasm
	@tests/server/run.sh $(CLI) $(BUILD)/apps $(MODELS_DIR) $(BUILD)/tmp/server

$(BUILD)/bench/%.wasm: bench/prog/%.c
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_CFLAGS) $< -o $@

$(BUILD)/bench/%: bench/prog/%.c
	@mkdir -p $(dir $@)
	$(BENCH_CC) $(BENCH_CFLAGS) $< -o $@ -lm

$(BUILD)/bench/driver: bench/driver.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 $(WARN) $< -o $@ -lm

# The README's main-job command: works on a fresh Debian machine (installs
# the guest toolchain first when run as root), then runs the examples.
demo:
	@scripts/install-deps.sh
	@$(MAKE) --no-print-directory demo-run

# MODEL=path.gguf: the model llama-simple.wasm runs through WASI-NN
# (default: $(MODELS_DIR)/stories260K.gguf); DEMO_PROMPT, DEMO_N.
MODEL       ?= $(MODELS_DIR)/stories260K.gguf
DEMO_PROMPT ?= Once upon a time
DEMO_N      ?= 128

demo-run: $(CLI) $(APP_WASM)
	$(CLI) run --env NAME=wasmind $(BUILD)/apps/hello.wasm one two
	$(CLI) run $(BUILD)/apps/mandelbrot.wasm 64
	$(CLI) run --nn-preload default:GGML:AUTO:$(MODEL) \
	    $(BUILD)/apps/llama-simple.wasm -n $(DEMO_N) "$(DEMO_PROMPT)"

# One target after the other (not in parallel: they measure time).
bench:
	@$(MAKE) --no-print-directory bench-wasm
	@$(MAKE) --no-print-directory bench-llm
	@$(MAKE) --no-print-directory bench-nn
	@$(MAKE) --no-print-directory bench-serve
	@$(MAKE) --no-print-directory bench-wasm-llm
	@$(MAKE) --no-print-directory bench-llamacpp

bench-wasm: $(CLI) $(BUILD)/apps/hello.wasm $(BENCH_BINS) $(BUILD)/bench/driver
	$(BUILD)/bench/driver --runs $(BENCH_RUNS) --wasmind $(CLI) \
	    --dir $(BUILD)/bench --hello $(BUILD)/apps/hello.wasm \
	    $(addprefix --input ,$(BENCH_INPUTS)) $(BENCH_NAMES)

# make bench-kernels  tensor-kernel micro-benchmark (bench/llm_kernels.c):
#               matvec/matmul GB/s, GFLOP/s, share of measured stream
#               bandwidth, per type, 1 and 2 threads; BENCH_KERNELS_ARGS
#               passes options (e.g. --isa scalar --types q4_0,q4_k)
BENCH_KERNELS_ARGS ?=
.PHONY: bench-kernels
$(BUILD)/bench-kernels: bench/llm_kernels.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

bench-kernels: $(BUILD)/bench-kernels
	$(BUILD)/bench-kernels $(BENCH_KERNELS_ARGS)

# make bench-llm  engine tokens/s on the TinyLlama 1.1B shape: synthesises
#               it in Q4_0 and Q8_0 once (seeded random weights, cached in
#               build/models/, ~0.6 and ~1.1 GB), then runs `wasmind llm
#               bench -p 128 -n 64` at BENCH_LLM_THREADS threads: prompt
#               (pp) and generation (tg) tokens/s, mean ± stddev over
#               BENCH_LLM_REPS, tg's share of the read bandwidth measured
#               in the same run (model bytes x tg t/s / bandwidth), and the
#               peak resident memory as weights + KV cache + the rest
BENCH_LLM_THREADS ?= 1 2
BENCH_LLM_REPS    ?= 3
BENCH_LLM_MODELS  := build/models/tinyllama-1.1b-q4_0.gguf \
                     build/models/tinyllama-1.1b-q8_0.gguf
.PHONY: bench-llm
build/models/tinyllama-1.1b-%.gguf: | $(CLI)
	@mkdir -p $(@D)
	$(CLI) llm synth --preset 1.1B --type $* --seed 1 -o $@

bench-llm: $(CLI) $(BENCH_LLM_MODELS)
	@for m in $(BENCH_LLM_MODELS); do for t in $(BENCH_LLM_THREADS); do \
	    $(CLI) llm bench -m $$m -t $$t -p 128 -n 64 -r $(BENCH_LLM_REPS) \
	        || exit 1; echo; done; done

# make bench-nn  guest-driven generation (llama-simple.wasm through
#               WASI-NN, compute_single per token) vs native `wasmind llm
#               generate` on the same model, greedy, same prompt and token
#               count, alternating BENCH_NN_RUNS times (best of each): the
#               generation tokens/s of both and their ratio. The model is
#               the 1.1B TinyLlama-shape Q4_0 of `make bench-llm` when
#               build/models/ has it, else a synthetic 110M-shape (stories110M)
#               Q4_0 made once in build/models/; BENCH_NN_MODEL overrides
BENCH_NN_RUNS ?= 3
BENCH_NN_N    ?= 64
BENCH_NN_MODEL ?= $(firstword $(wildcard build/models/tinyllama-1.1b-q4_0.gguf) \
                              build/models/stories110m-shape-q4_0.gguf)
.PHONY: bench-nn
build/models/stories110m-shape-q4_0.gguf: | $(CLI)
	@mkdir -p $(@D)
	$(CLI) llm synth --preset 110M --type q4_0 --seed 1 -o $@

bench-nn: $(CLI) $(BUILD)/apps/llama-simple.wasm $(BENCH_NN_MODEL)
	@bench/nn.sh $(CLI) $(BUILD)/apps/llama-simple.wasm $(BENCH_NN_MODEL) \
	    $(BENCH_NN_N) $(BENCH_NN_RUNS)

# make bench-serve  streaming through the Wasm API server (`wasmind serve`,
#               llama-api-server.wasm) vs native `wasmind llm generate` on
#               the 1.1B TinyLlama-shape Q4_0 of `make bench-llm`
#               (bench/serve.sh): a python client reads the SSE stream of a
#               greedy /v1/completions of BENCH_SERVE_N tokens and times
#               each event; generation tokens/s of both (tokens after the
#               first / time from the first to the last, prompt excluded,
#               the texts must agree) and their ratio, and the time to
#               first token for a 128-token prompt next to native's prompt
#               evaluation; alternating BENCH_SERVE_RUNS times, best of each
BENCH_SERVE_RUNS  ?= 5
BENCH_SERVE_N     ?= 64
BENCH_SERVE_MODEL ?= build/models/tinyllama-1.1b-q4_0.gguf
.PHONY: bench-serve
bench-serve: $(CLI) $(BUILD)/apps/llama-api-server.wasm $(BENCH_SERVE_MODEL)
	@bench/serve.sh $(CLI) $(BUILD)/apps/llama-api-server.wasm \
	    $(BENCH_SERVE_MODEL) $(BENCH_SERVE_N) $(BENCH_SERVE_RUNS)

# make bench-wasm-llm  why the tensor layer belongs in native code: the
#               same greedy generation ("Once upon a time") by native
#               `wasmind llm generate` (default threads, and -t 1), by
#               llama-simple.wasm through WASI-NN, and by llm-wasm.wasm (the
#               engine itself compiled to wasm32-wasi: scalar kernels, one
#               thread, interpreted), alternating BENCH_WASM_LLM_RUNS times,
#               best of each: prompt and generation tokens/s, ratios to
#               native, and whether the stdouts agree. Models (PATH:TOKENS):
#               stories260K and a synthetic stories15M shape in Q8_0 with
#               stories260K's vocabulary (made once in build/models/)
BENCH_WASM_LLM_RUNS   ?= 3
BENCH_WASM_LLM_15M    := build/models/stories15m-shape-q8_0.gguf
BENCH_WASM_LLM_MODELS ?= $(MODELS_DIR)/stories260K.gguf:96 \
                         $(BENCH_WASM_LLM_15M):64
.PHONY: bench-wasm-llm
$(BENCH_WASM_LLM_15M): | $(CLI)
	@mkdir -p $(@D)
	$(CLI) llm synth --preset 15M --type q8_0 --seed 1 \
	    --vocab-from $(MODELS_DIR)/stories260K.gguf -o $@

bench-wasm-llm: $(CLI) $(BUILD)/apps/llama-simple.wasm \
                $(BUILD)/apps/llm-wasm.wasm $(BENCH_WASM_LLM_15M)
	@bench/wasm_llm.sh $(CLI) $(BUILD)/apps $(BENCH_WASM_LLM_RUNS) \
	    $(BENCH_WASM_LLM_MODELS)

# make bench-llamacpp  llama.cpp measured on this machine, in the same run:
#               bench/llamacpp/setup.sh puts the prebuilt llama.cpp of the
#               npm package @node-llama-cpp/linux-x64 (pinned in
#               bench/llamacpp/package*.json) in $(BUILD)/llamacpp once
#               (npm ci, scripts off) with the headers of that exact build
#               (from node-llama-cpp's source bundle); llamacpp_bench.c,
#               linked to it, measures pp128/tg64 the llama-bench way (best
#               CPU variant, flash-attn off, KV F16, mmap). Prints the greedy
#               check on stories260K, then per TinyLlama-shape model
#               (BENCH_LLAMACPP_TYPES, synthesised as for bench-llm) and
#               thread count: llama.cpp and wasmind t/s, mean ± sd over
#               BENCH_LLAMACPP_REPS, and wasmind/llama.cpp. Without npm or
#               the registry: "llama.cpp reference unavailable: ...", exit 0
BENCH_LLAMACPP_TYPES   ?= q4_0 q8_0 q4_k
BENCH_LLAMACPP_THREADS ?= 2 1
BENCH_LLAMACPP_REPS    ?= 3
BENCH_LLAMACPP_MODELS  := $(BENCH_LLAMACPP_TYPES:%=build/models/tinyllama-1.1b-%.gguf)
LLAMACPP_DIR  := $(BUILD)/llamacpp
LLAMACPP_LIBS  = $(abspath $(LLAMACPP_DIR))/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
.PHONY: bench-llamacpp
$(LLAMACPP_DIR)/llamacpp_bench: bench/llamacpp/llamacpp_bench.c \
                                $(LLAMACPP_DIR)/include/llama.h
	$(CC) -std=c11 -O2 $(WARN) -I$(LLAMACPP_DIR)/include \
	    -DLLAMACPP_LIB_DIR='"$(LLAMACPP_LIBS)"' $< -o $@ \
	    $(wildcard $(LLAMACPP_LIBS)/libllama.v*.so) \
	    $(wildcard $(LLAMACPP_LIBS)/libggml.v*.so) \
	    $(LLAMACPP_LIBS)/libggml-base.so -Wl,-rpath,$(LLAMACPP_LIBS) -lm

bench-llamacpp: $(CLI)
	@if bench/llamacpp/setup.sh $(LLAMACPP_DIR); then \
	    $(MAKE) --no-print-directory $(LLAMACPP_DIR)/llamacpp_bench \
	        $(BENCH_LLAMACPP_MODELS) && \
	    bench/llamacpp/compare.sh $(CLI) $(LLAMACPP_DIR)/llamacpp_bench \
	        "$(BENCH_LLAMACPP_THREADS)" $(BENCH_LLAMACPP_REPS) \
	        $(MODELS_DIR)/stories260K.gguf $(BENCH_LLAMACPP_MODELS); \
	fi

# ==== Fuzzing (clang libFuzzer + ASan + UBSan) ===========================
# make fuzz [FUZZ_SECONDS=600]  run fuzz/fuzz_decode.c (decode + validate +
#               instantiate + call every export) seeded from fuzz/corpus/decode;
#               new inputs go to build/fuzz/corpus, crashes to build/fuzz/crash-*
#               (a crash becomes a fix + tests/regress/NNN-name.wasm)
# make fuzz FUZZ_GUARD=0        the same with explicit bounds checks instead of
#               guard pages (build/fuzz-noguard): a crash the guard-page
#               signal handler would turn into a silent SIGSEGV gets a report
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_GUARD   ?= 1
FUZZ_BUILD   := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) -Iinclude -Isrc -MMD -MP \
                $(FUZZ_SAN) -fsanitize=fuzzer-no-link
ifeq ($(FUZZ_GUARD),0)
FUZZ_BUILD   := build/fuzz-noguard
FUZZ_CFLAGS  += -DWM_ENABLE_GUARD_PAGES=0
endif
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)

.PHONY: fuzz fuzz-build
$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_decode: fuzz/fuzz_decode.c $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(filter %.c %.o,$^) -o $@ \
	    $(LDLIBS)

fuzz-build: $(FUZZ_BUILD)/fuzz_decode

fuzz: fuzz-build
	@mkdir -p $(FUZZ_BUILD)/corpus
	$(FUZZ_BUILD)/fuzz_decode -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=262144 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -dict=fuzz/decode.dict \
	    -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus fuzz/corpus/decode

# make fuzz-gguf [FUZZ_SECONDS=600]  run fuzz/fuzz_gguf.c (GGUF reader +
#               vocabulary load + tokenize/detokenize) seeded from
#               fuzz/corpus/gguf; new inputs go to build/fuzz/corpus-gguf,
#               crashes to build/fuzz/gguf-crash-*
.PHONY: fuzz-gguf
$(FUZZ_BUILD)/fuzz_gguf: fuzz/fuzz_gguf.c $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(filter %.c %.o,$^) -o $@ \
	    $(LDLIBS)

fuzz-gguf: $(FUZZ_BUILD)/fuzz_gguf
	@mkdir -p $(FUZZ_BUILD)/corpus-gguf
	$(FUZZ_BUILD)/fuzz_gguf -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/gguf- $(FUZZ_BUILD)/corpus-gguf \
	    fuzz/corpus/gguf

# make regress  replay tests/regress/*.wasm and the seed corpus through the
#               fuzz target's load + instantiate + call path (no libFuzzer;
#               with SAN=... under sanitizers)
REGRESS_BIN := $(BUILD)/tests/regress-runner

.PHONY: regress
$(REGRESS_BIN): fuzz/standalone.c fuzz/fuzz_decode.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(filter %.c %.a,$^) -o $@ $(LDFLAGS) $(LDLIBS)

regress: $(REGRESS_BIN)
	$(REGRESS_BIN) $(sort $(wildcard tests/regress/*.wasm)) \
	    $(sort $(wildcard fuzz/corpus/decode/*.wasm))

clean:
	rm -rf build

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
