# Host unit tests (cmocka, ASan+UBSan) and libFuzzer harnesses over the pure sources.
#   tests/unit/test_NAME.c  -> build/tests/test_NAME   (links the pure sources + soft VMCS)
#   tests/fuzz/fuzz_NAME.c  -> build/fuzz/fuzz_NAME    (clang, -fsanitize=fuzzer,address,undefined)
HOST_CFLAGS := -std=gnu11 -O1 -g $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer -Ivmm -Iboot -Itests/unit -DTESSERA_HOST_TEST -MMD -MP
# Test scaffolding every test may use: software VMCS, console capture, RAM disk, fake vector registers.
TEST_SUPPORT := tests/unit/soft_vmcs.c tests/unit/host_stubs.c tests/unit/mem_blkdev.c tests/unit/fake_simd_regs.c
HOST_OBJS   := $(patsubst %,$(BUILD)/host/%.o,$(HOST_SRCS) $(TEST_SUPPORT))
UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

$(BUILD)/host/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -c $< -o $@

$(BUILD)/host/libtessera_host.a: $(HOST_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/host/libtessera_host.a
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $< -o $@ $(BUILD)/host/libtessera_host.a -lcmocka

FUZZ_CC     := clang
FUZZ_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -MMD -MP \
               -fsanitize=address,undefined -fno-sanitize-recover=all \
               -Ivmm -Iboot -Itests/unit -DTESSERA_HOST_TEST
FUZZ_LIBOBJS := $(patsubst %,$(BUILD)/fuzzhost/%.o,$(HOST_SRCS) $(TEST_SUPPORT))
FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

$(BUILD)/fuzzhost/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzzhost/libtessera_fuzz.a: $(FUZZ_LIBOBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzzhost/libtessera_fuzz.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< -o $@ $(BUILD)/fuzzhost/libtessera_fuzz.a

.PHONY: unit fuzz-build test-build
unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do $$t || exit 1; done
fuzz-build: $(FUZZ_BINS)
test-build: $(UNIT_BINS) $(FUZZ_BINS)
