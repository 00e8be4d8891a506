# nightjar -- build, demo and tests.
#
#   make            build the sensor at build/nightjar, the ICAP service at
#                   build/nightjar-icap, the mail relay at build/nightjar-mta
#                   and the model trainer at build/nightjar-train
#   make demo       install missing Debian packages, build, run on the sample
#   make test       install missing packages, build (plain and ASan+UBSan),
#                   run every test; the last line is "N passed, N failed,
#                   N skipped" (with CI=true a skip is a failure)
#   make fuzz       build the libFuzzer targets (clang) into build-fuzz/
#   make bench      the benchmark in bench/ (not a test)
#   make install    binaries, the shipped YARA rules and the man page under
#                   PREFIX (default /usr/local); DESTDIR for packaging

CC      ?= cc
PREFIX  ?= /usr/local
RULES_DIR = $(PREFIX)/share/nightjar/rules
BUILD   ?= build
OPT     ?= -O2 -g
SAN     ?=
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -DNIGHTJAR_RULES_DIR='"$(RULES_DIR)"' -Wall -Wextra -Werror -Wshadow \
             -Wstrict-prototypes -Wmissing-prototypes -Isrc $(OPT) $(SAN) $(CFLAGS)
LDLIBS_ALL = -lpcap -lssl -lcrypto -lyaml -lyara -lmagic -lz -lnghttp2 -ljansson -lpsl -lnftables -lhiredis -lrdkafka -lpthread -lm
# only nightjar-train and the tests that train link XGBoost; the sensor
# scores with its own tree walker (src/eta/eta_model.c)
LDLIBS_TRAIN = -lxgboost

ETA_MODEL := models/eta-default.json
TRAIN_SRC := $(sort $(wildcard src/train/*.c))
MAIN_SRC := src/sensor/main.c src/icap/icap_main.c src/mta/mta_main.c src/eta/eta_pack_main.c
LIB_SRC  := $(sort $(filter-out $(MAIN_SRC) $(TRAIN_SRC),$(wildcard src/*/*.c)))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/eta/eta_default_model.o
TRAIN_OBJ := $(filter-out $(BUILD)/obj/train/train_main.o,$(TRAIN_SRC:src/%.c=$(BUILD)/obj/%.o))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

MAKEFLAGS += --no-print-directory
Q ?= @
.PHONY: all deps demo test check unit asan fuzz bench clean install
all: $(BUILD)/nightjar $(BUILD)/nightjar-icap $(BUILD)/nightjar-mta $(BUILD)/nightjar-train $(TEST_BIN) $(TOOL_BIN)

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*/*.h) src/version.h
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/eta/eta_default_model.o: src/eta/eta_default_model.S $(ETA_MODEL)
	@mkdir -p $(dir $@)
	@echo "  AS    $@"
	$(Q)$(CC) -c -DETA_DEFAULT_MODEL='"$(ETA_MODEL)"' $< -o $@

# the built-in model packed at build time (eta_model_pack), linked into
# every binary: no JSON to parse at start
PACKED_OBJ := $(BUILD)/obj/eta/eta_default_packed.o
$(BUILD)/eta_pack: $(BUILD)/obj/eta/eta_pack_main.o $(BUILD)/libnightjar.a
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

$(BUILD)/eta-default.packed: $(BUILD)/eta_pack $(ETA_MODEL)
	@echo "  PACK  $@"
	$(Q)$(BUILD)/eta_pack $(ETA_MODEL) $@

$(PACKED_OBJ): src/eta/eta_default_packed.S $(BUILD)/eta-default.packed
	@mkdir -p $(dir $@)
	@echo "  AS    $@"
	$(Q)$(CC) -c -DETA_DEFAULT_PACKED='"$(BUILD)/eta-default.packed"' $< -o $@

$(BUILD)/libnightjar.a: $(LIB_OBJ)
	$(Q)ar rcs $@ $^

$(BUILD)/libnightjar-train.a: $(TRAIN_OBJ)
	$(Q)ar rcs $@ $^

$(BUILD)/nightjar-train: $(BUILD)/obj/train/train_main.o $(PACKED_OBJ) $(BUILD)/libnightjar-train.a $(BUILD)/libnightjar.a
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL) $(LDLIBS_TRAIN)

$(BUILD)/nightjar: $(BUILD)/obj/sensor/main.o $(PACKED_OBJ) $(BUILD)/libnightjar.a
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

$(BUILD)/nightjar-icap: $(BUILD)/obj/icap/icap_main.o $(PACKED_OBJ) $(BUILD)/libnightjar.a
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

$(BUILD)/nightjar-mta: $(BUILD)/obj/mta/mta_main.o $(PACKED_OBJ) $(BUILD)/libnightjar.a
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/testing.h $(PACKED_OBJ) $(BUILD)/libnightjar-train.a $(BUILD)/libnightjar.a
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	$(Q)$(CC) $(CFLAGS_ALL) -Itests/unit $< $(PACKED_OBJ) $(BUILD)/libnightjar-train.a $(BUILD)/libnightjar.a -o $@ $(LDLIBS_ALL) $(LDFLAGS_$*)

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libnightjar.a
	@mkdir -p $(dir $@)
	@echo "  TOOL  $@"
	$(Q)$(CC) $(CFLAGS_ALL) $< $(BUILD)/libnightjar.a -o $@ $(LDLIBS_ALL)

# the allocation test counts every allocation the library makes
LDFLAGS_test_alloc = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
LDFLAGS_test_eta = $(LDLIBS_TRAIN)

deps:
	@sh scripts/install-deps.sh

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" all

demo: deps
	$(MAKE) all
	@sh scripts/demo.sh

test: deps
	$(MAKE) all
	$(MAKE) asan
	@sh tests/run.sh

check: test

unit: all
	@sh tests/run.sh --unit-only

fuzz:
	$(MAKE) -C fuzz

bench: all
	@sh bench/run.sh && sh bench/eta.sh && sh bench/anomaly.sh && sh bench/icap.sh && sh bench/mta.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(RULES_DIR) $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(BUILD)/nightjar $(BUILD)/nightjar-icap $(BUILD)/nightjar-mta $(BUILD)/nightjar-train $(DESTDIR)$(PREFIX)/bin/
	install -m 644 rules/*.yar $(DESTDIR)$(RULES_DIR)/
	install -m 644 docs/nightjar.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf build build-asan build-fuzz
