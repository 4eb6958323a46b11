/* Helpers every exit handler shares: register access, CPU mode, and ending a VM (event injection
 * is guest/event_queue.c). All vCPU state comes through the VMCS accessor. */
#include <stdarg.h>
#include "guest/vm.h"
#include "x86.h"
#include "lib/log.h"
#include "vmx/vmcs.h"

uint64_t vcpu_gpr_read(struct vcpu *v, unsigned reg)
{
    if (reg == REG_RSP)
        return vmcs_read(VMCS_GUEST_RSP);
    return v->gpr[reg & 15];
}

void vcpu_gpr_write(struct vcpu *v, unsigned reg, uint64_t value)
{
    if (reg == REG_RSP)
        vmcs_write(VMCS_GUEST_RSP, value);
    else
        v->gpr[reg & 15] = value;
}

unsigned vcpu_cpl(void)
{
    /* SS.DPL is the CPL (SDM 24.4.1), also in real mode and with unrestricted guest. */
    return (vmcs_read(VMCS_GUEST_SS_AR) >> AR_DPL_SHIFT) & 3;
}

enum cpu_mode vcpu_mode(void)
{
    uint64_t cr0 = vmcs_read(VMCS_GUEST_CR0);
    if (!(cr0 & 1))
        return MODE_REAL;
    if (vmcs_read(VMCS_GUEST_RFLAGS) & (1u << 17))
        return MODE_REAL; /* virtual-8086: 16-bit addressing like real mode */
    uint64_t cs_ar = vmcs_read(VMCS_GUEST_CS_AR);
    if (vmcs_read(VMCS_GUEST_EFER) & (1u << 10)) {
        if (cs_ar & AR_L)
            return MODE_LONG64;
        return (cs_ar & AR_DB) ? MODE_COMPAT32 : MODE_COMPAT16;
    }
    return (cs_ar & AR_DB) ? MODE_PROT32 : MODE_PROT16;
}

void vm_init_vcpus(struct vm *vm, unsigned count)
{
    vm->vcpu_count = count < VM_MAX_VCPUS ? count : VM_MAX_VCPUS;
    for (unsigned i = 0; i < vm->vcpu_count; i++) {
        vm->vcpus[i].vm = vm;
        vm->vcpus[i].index = i;
        vm->vcpus[i].state = VCPU_RUNNABLE;
    }
}

/* The VM's end, whatever its cause: no vCPU of it runs again. */
static void vm_mark_ended(struct vm *vm, enum vm_outcome outcome)
{
    vm->state = VM_ENDED;
    vm->outcome = outcome;
    for (unsigned i = 0; i < vm->vcpu_count; i++)
        vm->vcpus[i].state = VCPU_STOPPED;
}

enum exit_result vm_end(struct vm *vm, enum vm_outcome outcome, uint32_t exit_code)
{
    if (vm->state == VM_ENDED)
        return EXIT_STOP;
    uart_flush(&vm->uart);
    vm_mark_ended(vm, outcome);
    vm->exit_code = exit_code;
    if (outcome == OUTCOME_EXIT_CODE)
        log_printf("tessera: guest %s ended with exit status %u\n", vm->name, exit_code);
    else
        log_printf("tessera: guest %s powered off\n", vm->name);
    return EXIT_STOP;
}

enum exit_result vm_stop(struct vm *vm, const char *fmt, ...)
{
    if (vm->state == VM_ENDED)
        return EXIT_STOP;
    uart_flush(&vm->uart);
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
    va_end(ap);
    vm_mark_ended(vm, OUTCOME_STOPPED);
    log_printf("tessera: guest %s stopped: %s\n", vm->name, vm->stop_reason);
    return EXIT_STOP;
}

bool vm_succeeded(const struct vm *vm)
{
    return (vm->outcome == OUTCOME_EXIT_CODE && vm->exit_code == 1) || vm->outcome == OUTCOME_SHUTDOWN;
}

void vm_stats_sum(const struct vm *vm, struct vm_stats *out)
{
    *out = (struct vm_stats){ 0 };
    for (unsigned i = 0; i < vm->vcpu_count; i++) {
        const struct vcpu *v = &vm->vcpus[i];
        for (unsigned r = 0; r < EXIT_REASON_COUNT; r++)
            out->exit_counts[r] += v->exit_counts[r];
        out->exits_total += v->exits_total;
        out->slices += v->slices;
        out->run_tsc += v->run_tsc;
        if (v->max_slice_tsc > out->max_slice_tsc)
            out->max_slice_tsc = v->max_slice_tsc;
    }
}

uint64_t vm_run_tsc(const struct vm *vm)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < vm->vcpu_count; i++)
        sum += vm->vcpus[i].run_tsc;
    return sum;
}

uint64_t vm_slices(const struct vm *vm)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < vm->vcpu_count; i++)
        sum += vm->vcpus[i].slices;
    return sum;
}
