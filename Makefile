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

LIB_SRC := $(sort $(wildcard src/util/*.c src/wasm/*.c src/wasi/*.c))
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

# Unit tests: one binary per tests/unit/t_<area>.c, linked with the library.
$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do $$t || exit 1; done

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
