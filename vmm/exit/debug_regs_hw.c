/* MOV from/to DR0-DR3 and DR6 for the debug-event logic (see debug_regs.h). */
#include "exit/debug_regs.h"

uint64_t debug_reg_read(unsigned n)
{
    uint64_t v = 0;
    switch (n) {
    case 0: __asm__ volatile("mov %%dr0, %0" : "=r"(v)); break;
    case 1: __asm__ volatile("mov %%dr1, %0" : "=r"(v)); break;
    case 2: __asm__ volatile("mov %%dr2, %0" : "=r"(v)); break;
    case 3: __asm__ volatile("mov %%dr3, %0" : "=r"(v)); break;
    case 6: __asm__ volatile("mov %%dr6, %0" : "=r"(v)); break;
    default: break;
    }
    return v;
}

void debug_reg_write(unsigned n, uint64_t value)
{
    switch (n) {
    case 0: __asm__ volatile("mov %0, %%dr0" ::"r"(value)); break;
    case 1: __asm__ volatile("mov %0, %%dr1" ::"r"(value)); break;
    case 2: __asm__ volatile("mov %0, %%dr2" ::"r"(value)); break;
    case 3: __asm__ volatile("mov %0, %%dr3" ::"r"(value)); break;
    case 6: __asm__ volatile("mov %0, %%dr6" ::"r"(value)); break;
    default: break;
    }
}
