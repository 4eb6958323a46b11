/* Multiboot v1 entry: the header a Multiboot loader finds in the first 8 KiB of the file, and
 * the entry it jumps to (32-bit protected mode, paging off, EAX = 0x2BADB002, EBX = info). */
#include "boot.h"

    .section .multiboot, "a"
    .p2align 2
    .long MULTIBOOT_HEADER_MAGIC
    .long MULTIBOOT_HEADER_FLAGS
    .long -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_HEADER_FLAGS)

    .section .text.boot32, "ax"
    .code32
    .globl _start
_start:
    mov %eax, %edi                  /* start64(boot_magic, boot_info): the C side checks it */
    mov %ebx, %esi
    jmp enter_long_mode

    .section .note.GNU-stack, "", @progbits
