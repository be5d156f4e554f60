# qinfer: `make` builds lib/libqinfer.a and the drivers (at the top of the tree);
# `make test` runs every test; `make CROSS=aarch64-linux-gnu-` cross-builds into
# build/aarch64-linux-gnu/.
CROSS   ?=
CC      := $(CROSS)gcc
AR      := $(CROSS)ar
OPT     ?= -O2 -g
CFLAGS  := $(OPT) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -pthread -Ilib $(EXTRA_CFLAGS)
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

LIB_SRC   := $(wildcard lib/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o)
DRIVERS   := qinfer
TOOLS     := synth
TEST_SRC  := $(wildcard test/test_*.c)
TEST_BIN  := $(TEST_SRC:%.c=$(B)/%)

.PHONY: all test clean synth model check-aarch64
all: $(LIB) $(DRIVERS:%=$(BIN)/%) $(TOOLS:%=$(B)/tools/%) $(TEST_BIN)

$(B)/%.o: %.c $(wildcard lib/*.h) | dirs
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN)/%: $(B)/drivers/%.o $(LIB)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(B)/tools/%: $(B)/tools/%.o $(LIB)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(B)/test/%: $(B)/test/%.o $(LIB)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(B)/test/%.o: test/%.c test/test.h $(wildcard lib/*.h) | dirs
	$(CC) $(CFLAGS) -Itest -c $< -o $@

dirs:
	@mkdir -p $(B)/lib $(B)/drivers $(B)/tools $(B)/test

SYNTH := models/qwen2.5-0.5b-synth-q4_0.gguf
synth: $(SYNTH)
$(SYNTH): | $(B)/tools/synth
	@mkdir -p models
	$(B)/tools/synth --vocab $(SHARED)/vocab/qwen2/qwen2.5-vocab.gguf -o $@

model:
	@sh tools/download-model.sh

test: all $(SYNTH)
	@QINFER_SHARED=$(SHARED) sh test/run.sh $(B) $(BIN)

clean:
	rm -rf build lib/libqinfer.a $(DRIVERS)
