# The hypervisor: a freestanding static PIE (tessera.elf) the loader relocates where it lands.
VMM_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-stack-protector -fpie -fno-plt \
              -mno-red-zone -mgeneral-regs-only -fno-asynchronous-unwind-tables -fcf-protection=none \
              -fno-common -Ivmm -Iboot -MMD -MP
VMM_OBJS   := $(patsubst %,$(BUILD)/%.o,$(VMM_SRCS) $(VMM_ASM))

$(BUILD)/vmm/%.c.o: vmm/%.c
	@mkdir -p $(dir $@)
	$(CC) $(VMM_CFLAGS) -c $< -o $@

$(BUILD)/vmm/%.S.o: vmm/%.S
	@mkdir -p $(dir $@)
	$(CC) $(VMM_CFLAGS) -c $< -o $@

$(BUILD)/tessera.elf: $(VMM_OBJS) linker.ld
	$(LD) -static -pie --no-dynamic-linker -nostdlib -z noexecstack -z max-page-size=4096 \
	      -z text -T linker.ld -o $@ $(VMM_OBJS)
