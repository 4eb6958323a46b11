# Disk images and scenario lists: build/tessera.img holds the loader, the hypervisor, every guest
# program and scripts/configs/default.cfg. The runners themselves live in scripts/ and tests/.
# Every guest program goes on the ESP so that any configuration can name any of them.
IMAGE_GUEST_PROGRAMS := suite suite-mb triplefault spin lostevent bench corrupt diskfill diskbench statecheck flood \
                        share exitstorm
IMAGE_GUEST_ELFS     := $(patsubst %,$(BUILD)/guest/%.elf,$(IMAGE_GUEST_PROGRAMS))

# Guest configurations under scripts/configs/, and the scenarios tests/run_all.sh boots under
# Bochs: each SCENARIO has scripts/configs/SCENARIO.cfg and tests/integration/expect/SCENARIO.expect.
SCENARIO_CONFIGS := $(sort $(wildcard scripts/configs/*.cfg))
SCENARIOS        := default faults minidisks persist diskbench isolation fairness
export SCENARIOS
DEFAULT_CONFIG   := scripts/configs/default.cfg
# The minidisks scripts/configs/default.cfg names (tests/integration/expect/default.expect lists them too).
DEFAULT_PARTITIONS := alpha-disk:2 beta-disk:2

$(BUILD)/tessera.img: $(BUILD)/BOOTX64.EFI $(BUILD)/tessera.elf $(IMAGE_GUEST_ELFS) $(DEFAULT_CONFIG) scripts/mkdisk.sh
	scripts/mkdisk.sh -q -o $@ -c $(DEFAULT_CONFIG) -l $(BUILD)/BOOTX64.EFI -k $(BUILD)/tessera.elf \
	    $(foreach g,$(IMAGE_GUEST_ELFS),-f $(g):tessera/$(notdir $(g))) $(foreach p,$(DEFAULT_PARTITIONS),-p $(p))
