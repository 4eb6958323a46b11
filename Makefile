# Tessera: a type-1 x86-64 hypervisor booted by a UEFI loader. See README.md.
#   make          build build/tessera.img (ESP with loader, hypervisor, config, guests)
#   make run      build and boot the default configuration (BACKEND=qemu-kvm|bochs|qemu-tcg)
#   make test     host unit tests, fuzz smoke runs, integration runs under Bochs and QEMU
#   make bench    measured figures (see README.md)
#   make fuzz     long fuzzing runs (FUZZ_SECONDS per harness)
.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:

BUILD    ?= build
CC       := gcc
LD       := ld
OBJCOPY  := objcopy
WARN     := -Wall -Wextra -Werror -Wno-unused-parameter

# Source conventions that keep pure logic testable on the host:
#   - everything under vmm/ compiles freestanding into the hypervisor;
#   - files under vmm/arch/, files named *_hw.c, vmm/main.c and vmm/lib/{string,mem_copy_fill}.c touch hardware
#     or replace libc; all other vmm/ files are pure and also build for host tests;
#   - in boot/, files named efi_*.c and cpu_checks.c use firmware services or the CPU; the rest
#     (configuration parser, ELF relocation, memory-map folding) are pure and host-tested too.
VMM_SRCS      := $(sort $(shell find vmm -name '*.c'))
VMM_ASM       := $(sort $(shell find vmm -name '*.S'))
BOOT_PURE     := $(filter-out boot/efi_% boot/cpu_checks.c,$(sort $(wildcard boot/*.c)))
HOST_SRCS     := $(filter-out vmm/arch/% %_hw.c vmm/main.c vmm/lib/string.c vmm/lib/mem_copy_fill.c,$(VMM_SRCS)) $(BOOT_PURE)

include vmm/vmm.mk
include boot/boot.mk
include guest/guest.mk
include tests/tests.mk
include scripts/scripts.mk

.PHONY: all deps run test bench fuzz clean image
all: image

deps:
	@scripts/deps.sh

image: $(BUILD)/tessera.img

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh $(if $(BACKEND),--backend $(BACKEND)) $(BUILD)/tessera.img

test: deps
	@$(MAKE) --no-print-directory all test-build
	@tests/run_all.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
