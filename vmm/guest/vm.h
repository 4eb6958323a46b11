/* A virtual machine: its identity and configuration, guest-physical memory, devices, outcome
 * and time limit, and its vCPUs (guest/vcpu.h). Devices and anything that is per machine take a
 * struct vm; exit handlers take the struct vcpu that exited and reach its machine through
 * vcpu->vm. Pure data plus small helpers; nothing here touches hardware directly. */
#ifndef TESSERA_GUEST_VM_H
#define TESSERA_GUEST_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bootinfo.h"
#include "dev/bochs_shutdown.h"
#include "dev/debug_exit.h"
#include "dev/io_bus.h"
#include "dev/uart16550.h"
#include "guest/vcpu.h"

/* vCPUs a VM can have. Only VM creation and the scheduler may rely on its value; everything
 * else walks vm->vcpus[0 .. vcpu_count). */
#define VM_MAX_VCPUS 1

enum vm_state {
    VM_RUNNING,
    VM_ENDED,                   /* vm_end or vm_stop: every vCPU is stopped */
};

enum vm_outcome {
    OUTCOME_NONE,
    OUTCOME_EXIT_CODE,          /* wrote to the debug-exit port or called HC_EXIT */
    OUTCOME_SHUTDOWN,           /* "Shutdown" on port 0x8900 or ACPI-style power-off */
    OUTCOME_STOPPED,            /* stopped by Tessera: fault, failed entry, time limit, bad image */
};

/* Device work an exit left unfinished because it reached its budget (bytes or time). While
 * pending is set the run loop calls run(ctx), one budget per call, in this VM's own slices: once
 * before each VM entry while the guest computes, and for the rest of the slice once the guest
 * waits (PAUSE, which exits only then, or a yield). run clears pending when done. */
struct deferred_work {
    void (*run)(void *ctx);
    void *ctx;
    bool pending;
};

struct pci_host;                /* dev/pci_host.h */
struct minidisk;                /* disk/minidisk.h */

struct vm {
    unsigned id;
    char name[GUEST_NAME_MAX];
    const struct bootinfo_guest *config;

    /* RAM: guest-physical [0, ram_size) is host memory at ram (hypervisor pointer) and
     * ram_hpa (host-physical, what EPT maps). On the machine ram == (void *)ram_hpa. */
    uint8_t *ram;
    uint64_t ram_hpa;
    uint64_t ram_size;
    /* Only VM creation and loading, and the accessors (mem/guest_mem.h), touch ram. Theirs: pins
     * not yet released (a debug count tests check returns to zero), and the largest piece a pin
     * reports, 0 when RAM is one host range (tests set a page, so callers' loops run; paging will). */
    unsigned pins_live;
    uint64_t pin_piece_max;
    uint64_t eptp;

    /* The machine's devices, placed on bus by the board (guest/board.h): what a port or
     * guest-physical address reaches. RAM is not on it; mem/gpa_bus.h puts the two together. */
    struct io_bus bus;
    struct uart16550 uart;
    struct debug_exit debug_exit;
    struct bochs_shutdown shutdown;
    struct pci_host *pci;       /* PCI configuration space (ports 0xCF8-0xCFF), or NULL: empty bus */
    const struct minidisk *disk; /* the minidisk behind its virtio-blk device, or NULL */
    struct deferred_work device_work;

    enum vm_state state;
    enum vm_outcome outcome;
    uint32_t exit_code;         /* (v << 1) | 1 for a debug-exit write of v */
    char stop_reason[160];
    uint64_t timeout_tsc;       /* CPU time allowed, summed over its vCPUs; 0 = none */

    struct vcpu vcpus[VM_MAX_VCPUS];
    unsigned vcpu_count;
};

/* Make vm->vcpus[0 .. count) its vCPUs: each points back at vm, is runnable and has its index.
 * Call after zeroing the VM and before setting up any vCPU. */
void vm_init_vcpus(struct vm *vm, unsigned count);

/* End a VM, and with it every one of its vCPUs. vm_end: the guest asked to (exit code or
 * power-off). vm_stop: Tessera stopped it, reason printed with the guest's name. Both return
 * EXIT_STOP. */
enum exit_result vm_end(struct vm *vm, enum vm_outcome outcome, uint32_t exit_code);
enum exit_result vm_stop(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Success as `make run` counts it: exit status 1 (value 0 on the debug-exit port) or power-off. */
bool vm_succeeded(const struct vm *vm);

/* The VM's statistics: its vCPUs' summed (the longest slice is the longest of any vCPU). */
struct vm_stats {
    uint64_t exit_counts[EXIT_REASON_COUNT];
    uint64_t exits_total;
    uint64_t slices;
    uint64_t run_tsc;
    uint64_t max_slice_tsc;
};
void vm_stats_sum(const struct vm *vm, struct vm_stats *out);
/* CPU time the VM has used so far, summed over its vCPUs (what its time limit counts). */
uint64_t vm_run_tsc(const struct vm *vm);
/* Slices the scheduler has given the VM so far, summed over its vCPUs (HC_SLICES). */
uint64_t vm_slices(const struct vm *vm);

#endif
