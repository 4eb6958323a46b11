# The UEFI loader (build/BOOTX64.EFI): gnu-efi application that checks VT-x, reads the
# configuration and files from the ESP, loads and relocates tessera.elf and jumps to it.
# The shared pure sources (config parser, VMX capability check, formatter) are compiled into it
# with the EFI flags.
GNUEFI_LIB  := /usr/lib
GNUEFI_INC  := /usr/include/efi
EFI_CFLAGS  := -std=gnu11 -O2 -g $(WARN) -fpic -fshort-wchar -mno-red-zone -ffreestanding \
               -fno-stack-protector -fno-strict-aliasing -maccumulate-outgoing-args \
               -fno-tree-loop-distribute-patterns -fcf-protection=none -fno-asynchronous-unwind-tables \
               -DEFI_FUNCTION_WRAPPER -DGNU_EFI_USE_MS_ABI \
               -I$(GNUEFI_INC) -I$(GNUEFI_INC)/x86_64 -Ivmm -Iboot -MMD -MP
EFI_LDFLAGS := -shared -Bsymbolic -nostdlib -znocombreloc -T $(GNUEFI_LIB)/elf_x86_64_efi.lds

BOOT_SRCS   := boot/efi_main.c boot/efi_console.c boot/efi_file.c boot/efi_memory.c boot/memmap_fold.c \
               boot/efi_diskloc.c boot/efi_acpi.c boot/cpu_checks.c boot/vmm_image.c \
               boot/config.c vmm/vmx/caps.c vmm/lib/format.c vmm/lib/string.c
BOOT_OBJS   := $(patsubst %,$(BUILD)/efi/%.o,$(BOOT_SRCS))

$(BUILD)/efi/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/efi/BOOTX64.so: $(BOOT_OBJS) $(GNUEFI_LIB)/crt0-efi-x86_64.o
	$(LD) $(EFI_LDFLAGS) $(GNUEFI_LIB)/crt0-efi-x86_64.o $(BOOT_OBJS) -o $@ \
	      -L$(GNUEFI_LIB) -lefi -lgnuefi

$(BUILD)/BOOTX64.EFI: $(BUILD)/efi/BOOTX64.so
	$(OBJCOPY) -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela -j .rel.* -j .rela.* \
	           -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@

.PHONY: loader
loader: $(BUILD)/BOOTX64.EFI
