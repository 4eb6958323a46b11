/* ELF32/ELF64 executables as guest kernels: the file header, program headers and notes, each
 * checked against the file's bounds before anything is read. Pure; works on a byte buffer. */
#ifndef TESSERA_GUEST_ELF_H
#define TESSERA_GUEST_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/elf_abi.h"

#define ELF_MAX_LOAD_SEGMENTS 32   /* kernels have a handful; bounds the overlap check */

struct elf_file {
    const uint8_t *data;
    uint64_t size;
    bool is64;
    uint64_t entry;
    uint64_t phoff;
    uint16_t phentsize;
    uint16_t phnum;
};

struct elf_phdr {
    uint32_t type;
    uint32_t flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

struct elf_note {
    uint32_t type;
    const uint8_t *name;
    uint32_t namesz;               /* including the terminating NUL, as in the file */
    const uint8_t *desc;
    uint32_t descsz;
};

/* Walks the notes of every PT_NOTE segment in order. */
struct elf_note_iter {
    const struct elf_file *elf;
    unsigned phdr;                 /* the program header being walked */
    uint64_t pos, end, align;      /* file offsets within it; end == 0: not started */
};

/* True if data starts with the ELF magic (whether or not the rest is sound). */
bool elf_has_magic(const uint8_t *data, uint64_t size);

/* Checks the file header (little-endian, ET_EXEC, i386 for ELF32 or x86-64 for ELF64) and that the
 * program header table lies within the file. Returns 0, or -1 with a reason. */
int elf_open(struct elf_file *elf, const uint8_t *data, uint64_t size, char *why, size_t why_len);

/* Program header index (< phnum) of an opened file. */
void elf_read_phdr(const struct elf_file *elf, unsigned index, struct elf_phdr *ph);

/* Checks PT_LOAD and PT_NOTE segments: file data within the file, p_filesz <= p_memsz and no
 * wrap past the top of the address space (4 GiB for ELF32) for loads, at most
 * ELF_MAX_LOAD_SEGMENTS non-empty loads, none overlapping another (by physical address). */
int elf_check_segments(const struct elf_file *elf, char *why, size_t why_len);

void elf_notes_begin(struct elf_note_iter *it, const struct elf_file *elf);
/* 1 and *note filled, 0 at the end, -1 with a reason if a note's sizes do not fit its segment.
 * Needs elf_check_segments() to have passed. */
int elf_notes_next(struct elf_note_iter *it, struct elf_note *note, char *why, size_t why_len);

#endif
