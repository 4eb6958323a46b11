/* ELF facts from the System V gABI (and the x86-64 psABI) shared by the two ELF readers: the
 * guest kernel loader (guest/elf.c) and the UEFI loader's hypervisor relocation
 * (boot/vmm_image.c). Field layouts stay with their reader. */
#ifndef TESSERA_LIB_ELF_ABI_H
#define TESSERA_LIB_ELF_ABI_H

#define ELF_MAGIC       "\x7f" "ELF"
#define ELF_MAGIC_SIZE  4
#define ELF_EI_NIDENT   16      /* e_ident bytes */
#define ELF_EI_CLASS    4       /* e_ident indices */
#define ELF_EI_DATA     5
#define ELF_EI_VERSION  6

#define ELF_CLASS32     1
#define ELF_CLASS64     2
#define ELF_DATA2LSB    1       /* little-endian */
#define ELF_EV_CURRENT  1

#define ELF_ET_EXEC     2
#define ELF_ET_DYN      3
#define ELF_EM_386      3
#define ELF_EM_X86_64   62

#define ELF_PT_LOAD     1
#define ELF_PT_DYNAMIC  2
#define ELF_PT_INTERP   3
#define ELF_PT_NOTE     4
#define ELF_PF_X        1
#define ELF_PN_XNUM     0xffff  /* e_phnum escape: the real count is elsewhere */

#endif
