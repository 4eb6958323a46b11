/* VMCALL: the hypercall ABI of hypercall.h. Arguments are guest-controlled: every address and
 * length is checked before use. */
#include "exit/disk_bench.h"
#include "exit/handlers.h"
#include "hypercall.h"
#include "lib/log.h"
#include "mem/guest_mem.h"
#include "vmx/vmcs.h"

#define HC_CONSOLE_MAX 4096

static int64_t hypercall_console(struct vm *vm, uint64_t gpa, uint64_t len)
{
    if (len > HC_CONSOLE_MAX)
        return HC_EINVAL;
    if (!guest_mem_is_ram(vm, gpa, len))
        return HC_EFAULT;
    /* One console line per guest line; bytes are copied out once, a chunk at a time, and never
     * re-read. */
    char line[UART_LINE_MAX];
    char chunk[256];
    uint64_t n = 0;
    for (uint64_t i = 0; i < len; i++) {
        if (i % sizeof(chunk) == 0) {
            uint64_t want = len - i < sizeof(chunk) ? len - i : sizeof(chunk);
            if (!guest_mem_read(vm, gpa + i, chunk, want))
                return HC_EFAULT;       /* cannot happen: the range was checked */
        }
        char c = chunk[i % sizeof(chunk)];
        if (c == '\n' || n == sizeof(line)) {
            log_guest_line(vm->name, line, n);
            n = 0;
            if (c == '\n')
                continue;
        }
        line[n++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? c : '?';
    }
    if (n)
        log_guest_line(vm->name, line, n);
    return (int64_t)len;
}

enum exit_result exit_handle_vmcall(struct vcpu *v)
{
    uint64_t nr = v->gpr[REG_RAX];
    int64_t ret;
    if (vcpu_cpl() != 0) {
        ret = HC_EPERM;
    } else {
        switch (nr) {
        case HC_VERSION:
            ret = HC_ABI_VERSION;
            break;
        case HC_GUEST_ID:
            ret = v->vm->id;
            break;
        case HC_SLICES:
            ret = (int64_t)vm_slices(v->vm);
            break;
        case HC_YIELD:
            v->gpr[REG_RAX] = 0;
            return EXIT_ADVANCE_YIELD;
        case HC_CONSOLE:
            ret = hypercall_console(v->vm, v->gpr[REG_RDI], v->gpr[REG_RSI]);
            break;
        case HC_DISK_BENCH:
            ret = hypercall_disk_bench(v->vm, v->gpr[REG_RDI], v->gpr[REG_RSI]);
            break;
        case HC_EXIT:
            return vm_end(v->vm, OUTCOME_EXIT_CODE, ((uint32_t)v->gpr[REG_RDI] << 1) | 1);
        default:
            ret = HC_ENOSYS;
            break;
        }
    }
    v->gpr[REG_RAX] = (uint64_t)ret;
    return EXIT_ADVANCE;
}
