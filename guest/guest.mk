# Guest programs: freestanding 64-bit kernels linked at physical 1 MiB (guest/guest.ld) that run
# inside Tessera's VMs. Each boots through Xen PVH (lib/entry_pvh.S) or Multiboot v1
# (lib/entry_mb.S), enters long mode in lib/long_mode.S and continues in C (lib/start.c).
#   build/guest/suite.elf        the exit regression suite (PVH)
#   build/guest/suite-mb.elf     the same suite booted through Multiboot v1
#   build/guest/triplefault.elf  empty IDT, then int3: triple fault
#   build/guest/spin.elf         prints, then spins forever with interrupts off
#   build/guest/lostevent.elf    IDT on the empty bus, then exceptions: an event delivered into non-RAM
#   build/guest/bench.elf        CPUID-exit benchmark (cmdline iterations=N)
#   build/guest/diskfill.elf     writes and verifies a pattern across its whole virtio-blk minidisk
#   build/guest/diskbench.elf    minidisk throughput next to the driver's own (make bench)
#   build/guest/corrupt.elf      suite.elf cut to 3000 bytes: an image Tessera must refuse
#   build/guest/statecheck.elf   architectural reset state, then its own pattern in every register it
#                                can reach, kept across yields and preemption (the isolation scenario)
#   build/guest/flood.elf        floods its virtio-blk queue with maximal requests until a deadline
#   build/guest/share.elf        measures its own share of the CPU against the fair share 1/N
#   build/guest/exitstorm.elf    VM exits in a loop (CPUID, UART LSR), measuring its share the same way
# And one host tool for the ten-guest scenario:
#   build/tests/integration/diskimage_check  compares disk images before/after a diskfill run
GUEST_OUT     := $(BUILD)/guest
GUEST_CFLAGS  := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
                 -mno-red-zone -mcmodel=small -mgeneral-regs-only -fno-asynchronous-unwind-tables \
                 -fcf-protection=none -fno-common -fno-tree-loop-distribute-patterns \
                 -fno-reorder-blocks-and-partition -fno-ipa-icf -Iguest/lib -Ivmm -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,guest/guest.ld -Wl,-z,max-page-size=4096 \
                 -Wl,-z,noexecstack -Wl,--build-id=none -Wl,--fatal-warnings

GUEST_LIB_SRCS := $(filter-out guest/lib/entry_%.S,$(sort $(wildcard guest/lib/*.c guest/lib/*.S)))
GUEST_LIB_OBJS := $(patsubst %,$(BUILD)/%.o,$(GUEST_LIB_SRCS))
GUEST_PVH_OBJ  := $(BUILD)/guest/lib/entry_pvh.S.o
GUEST_MB_OBJ   := $(BUILD)/guest/lib/entry_mb.S.o
GUEST_SUITE_OBJS := $(patsubst %,$(BUILD)/%.o,$(sort $(wildcard guest/suite/*.c)))
GUEST_STATECHECK_OBJS := $(patsubst %,$(BUILD)/%.o,$(sort $(wildcard guest/statecheck/*.c)))

GUEST_ELFS := $(addprefix $(GUEST_OUT)/,suite.elf suite-mb.elf triplefault.elf spin.elf lostevent.elf bench.elf \
                diskfill.elf diskbench.elf corrupt.elf statecheck.elf flood.elf share.elf exitstorm.elf)
DISKIMAGE_CHECK := $(BUILD)/tests/integration/diskimage_check

.PHONY: guests
guests: $(GUEST_ELFS) $(DISKIMAGE_CHECK)
image: $(GUEST_ELFS) $(DISKIMAGE_CHECK)

$(BUILD)/guest/%.c.o: guest/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest/%.S.o: guest/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

# $(1): output, $(2): objects. Every program links the whole library; the entry object decides
# the boot protocol.
define guest_link
	@mkdir -p $(dir $(1))
	$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $(1) $(2)
endef

$(GUEST_OUT)/suite.elf: $(GUEST_PVH_OBJ) $(GUEST_SUITE_OBJS) $(GUEST_LIB_OBJS) guest/guest.ld
	$(call guest_link,$@,$(filter %.o,$^))

$(GUEST_OUT)/suite-mb.elf: $(GUEST_MB_OBJ) $(GUEST_SUITE_OBJS) $(GUEST_LIB_OBJS) guest/guest.ld
	$(call guest_link,$@,$(filter %.o,$^))

$(GUEST_OUT)/triplefault.elf: $(GUEST_PVH_OBJ) $(BUILD)/guest/faults/triplefault.c.o $(GUEST_LIB_OBJS) guest/guest.ld
	$(call guest_link,$@,$(filter %.o,$^))

$(GUEST_OUT)/spin.elf: $(GUEST_PVH_OBJ) $(BUILD)/guest/faults/spin.c.o $(GUEST_LIB_OBJS) guest/guest.ld
	$(call guest_link,$@,$(filter %.o,$^))

$(GUEST_OUT)/lostevent.elf: $(GUEST_PVH_OBJ) $(BUILD)/guest/faults/lostevent.c.o $(GUEST_LIB_OBJS) guest/guest.ld
	$(call guest_link,$@,$(filter %.o,$^))

$(GUEST_OUT)/statecheck.elf: $(GUEST_PVH_OBJ) $(GUEST_STATECHECK_OBJS) $(GUEST_LIB_OBJS) guest/guest.ld
	$(call guest_link,$@,$(filter %.o,$^))

$(GUEST_OUT)/flood.elf: $(GUEST_PVH_OBJ) $(BUILD)/guest/flood/flood.c.o $(GUEST_LIB_OBJS) guest/guest.ld
	$(call guest_link,$@,$(filter %.o,$^))

$(GUEST_OUT)/share.elf: $(GUEST_PVH_OBJ) $(BUILD)/guest/share/share.c.o $(GUEST_LIB_OBJS) guest/guest.ld
	$(call guest_link,$@,$(filter %.o,$^))

$(GUEST_OUT)/exitstorm.elf: $(GUEST_PVH_OBJ) $(BUILD)/guest/exitstorm/exitstorm.c.o $(GUEST_LIB_OBJS) guest/guest.ld
	$(call guest_link,$@,$(filter %.o,$^))

$(GUEST_OUT)/bench.elf: $(GUEST_PVH_OBJ) $(BUILD)/guest/bench/bench.c.o $(GUEST_LIB_OBJS) guest/guest.ld
	$(call guest_link,$@,$(filter %.o,$^))

$(GUEST_OUT)/diskfill.elf: $(GUEST_PVH_OBJ) $(BUILD)/guest/diskfill/diskfill.c.o $(GUEST_LIB_OBJS) guest/guest.ld
	$(call guest_link,$@,$(filter %.o,$^))

$(GUEST_OUT)/diskbench.elf: $(GUEST_PVH_OBJ) $(BUILD)/guest/diskbench/diskbench.c.o $(GUEST_LIB_OBJS) guest/guest.ld
	$(call guest_link,$@,$(filter %.o,$^))

$(GUEST_OUT)/corrupt.elf: $(GUEST_OUT)/suite.elf
	head -c 3000 $< >$@

# Host tool (plain gcc, hosted): it shares the pattern generator guest/lib/diskpattern.h.
$(DISKIMAGE_CHECK): tests/integration/diskimage_check.c guest/lib/diskpattern.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -Iguest/lib -o $@ $<
