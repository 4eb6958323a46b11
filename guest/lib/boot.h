/* What a guest program learns from its boot protocol (Xen PVH or Multiboot v1): the command
 * line and the RAM ranges of the memory map. Also the protocol constants the entry files use. */
#ifndef GUEST_BOOT_H
#define GUEST_BOOT_H

#define XEN_ELFNOTE_PHYS32_ENTRY   18
#define PVH_START_MAGIC            0x336ec578   /* hvm_start_info.magic; also the PVH entry's tag */
#define MULTIBOOT_HEADER_MAGIC     0x1BADB002
#define MULTIBOOT_HEADER_FLAGS     0x00000003   /* page-align modules, give memory information */
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BOOT_CMDLINE_MAX 256
#define BOOT_RAM_RANGES_MAX 32

enum boot_protocol { BOOTED_UNKNOWN, BOOTED_PVH, BOOTED_MULTIBOOT };

struct ram_range {
    uint64_t start, end;          /* [start, end), type 1 (RAM) in the memory map */
};

struct boot_info {
    enum boot_protocol protocol;
    char cmdline[BOOT_CMDLINE_MAX];
    struct ram_range ram[BOOT_RAM_RANGES_MAX];
    unsigned ram_count;
    uint64_t ram_end;             /* highest RAM address + 1 */
    const char *problem;          /* why the boot information was unusable, or NULL */
};

/* Copies what the guest needs out of the loader's structures (they live in RAM the tests
 * overwrite). boot_magic is EAX for Multiboot or PVH_START_MAGIC for the PVH entry. */
void boot_info_parse(uint32_t boot_magic, uint32_t info_paddr, struct boot_info *out);

/* Whether the command line holds the space-separated word `word`. */
bool cmdline_has_word(const struct boot_info *b, const char *word);
/* The decimal value of `key=N` on the command line, or fallback. */
uint64_t cmdline_number(const struct boot_info *b, const char *key, uint64_t fallback);
/* Copies the value of `key=VALUE` (up to the next space, cut to size - 1 bytes) into out,
 * NUL-terminated; returns its length, 0 when the key is absent or empty. */
size_t cmdline_string(const struct boot_info *b, const char *key, char *out, size_t size);

/* Every guest program defines this; start64 calls it with the parsed boot information. */
void guest_main(const struct boot_info *boot) __attribute__((noreturn));

/* Ends the guest through the debug-exit port (status (code << 1) | 1); halts if that fails. */
void guest_exit(uint8_t code) __attribute__((noreturn));

#endif
#endif
