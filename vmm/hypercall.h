/* The VMCALL ABI between guests and Tessera. Shared by the hypervisor and guest programs.
 *
 * A guest at CPL 0 executes VMCALL with the call number in RAX and arguments in RDI, RSI, RDX.
 * The result comes back in RAX: >= 0 on success, a negative HC_E* code on failure. Every other
 * register is preserved. VMCALL at CPL > 0 returns HC_EPERM. Unknown numbers return HC_ENOSYS. */
#ifndef TESSERA_HYPERCALL_H
#define TESSERA_HYPERCALL_H

#include <stdint.h>

#define HC_ABI_VERSION  1

enum hypercall_number {
    HC_VERSION   = 0, /* -> HC_ABI_VERSION */
    HC_GUEST_ID  = 1, /* -> this guest's index (0-based, order of the configuration file) */
    HC_SLICES    = 2, /* -> how many time slices this guest has been given so far */
    HC_YIELD     = 3, /* give the rest of this slice to the next guest -> 0 */
    HC_CONSOLE   = 4, /* RDI = guest-physical address, RSI = length (<= 4096): write to console -> length */
    HC_EXIT      = 5, /* RDI = exit code: end this guest as the debug-exit port would; does not return */
    HC_DISK_BENCH = 6, /* RDI = guest-physical address of a struct hc_disk_bench, RSI = its size:
                        * benchmark mode (bench=yes) only. Tessera measures its own disk driver on
                        * this guest's minidisk, overwriting it, with the parameters given, and
                        * fills in the results -> 0. Every other guest waits meanwhile. Fails with
                        * HC_EPERM outside benchmark mode, HC_ENODEV without a minidisk, HC_EROFS
                        * on a read-only one, HC_EINVAL for bad parameters, HC_EIO if the disk fails. */
    HC_COUNT
};

/* HC_DISK_BENCH's request and answer. The driver does what the diskbench guest then does through
 * virtio-blk: a sequential write then read of seq_bytes (clipped to the minidisk) from sector 0 in
 * requests of request_bytes, then random_ops 4 KiB writes and as many reads at the slots
 * disk/bench_random.h draws from seed, so the two are comparable request for request. */
struct hc_disk_bench {
    /* in */
    uint64_t seq_bytes;
    uint64_t request_bytes;      /* multiple of 512, at most HC_DISK_BENCH_REQUEST_MAX */
    uint64_t random_ops;         /* at most HC_DISK_BENCH_RANDOM_MAX */
    uint64_t seed;
    /* out: bytes or requests done, and the TSC ticks they took (CPUID 0x40000010 gives the rate) */
    uint64_t seq_write_bytes, seq_write_ticks;
    uint64_t seq_read_bytes, seq_read_ticks;
    uint64_t rand_write_ops, rand_write_ticks;
    uint64_t rand_read_ops, rand_read_ticks;
};
#define HC_DISK_BENCH_REQUEST_MAX (1u << 20)
#define HC_DISK_BENCH_RANDOM_MAX  (1u << 20)

#define HC_EPERM   (-1)
#define HC_EIO     (-5)
#define HC_EFAULT  (-14)
#define HC_ENODEV  (-19)
#define HC_EINVAL  (-22)
#define HC_EROFS   (-30)
#define HC_ENOSYS  (-38)

/* CPUID leaves in the hypervisor range */
#define CPUID_LEAF_HV_SIGNATURE   0x40000000u /* EAX = highest leaf, EBX:ECX:EDX = "TesseraVisor" */
#define CPUID_LEAF_HV_INFO        0x40000001u /* EAX = HC_ABI_VERSION, EBX = guest index */
#define CPUID_LEAF_HV_TIMING      0x40000010u /* EAX = TSC frequency in kHz (0 if unknown) */
#define CPUID_HV_SIGNATURE_EBX    0x73736554u /* "Tess" */
#define CPUID_HV_SIGNATURE_ECX    0x56617265u /* "eraV" */
#define CPUID_HV_SIGNATURE_EDX    0x726f7369u /* "isor" */

/* Fixed I/O ports every guest sees */
#define PORT_COM1          0x3F8  /* 16550 UART, 8 registers */
#define PORT_DEBUG_EXIT    0xF4   /* write v: the guest ends with exit status (v << 1) | 1; v == 0 is success */
#define PORT_BOCHS_SHUTDOWN 0x8900 /* the bytes "Shutdown" power the guest off (success) */

#endif
