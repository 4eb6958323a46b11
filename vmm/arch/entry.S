/* The hypervisor's only assembly: the entry point, exception stubs and the VM entry/exit
 * path. Everything else is C. */

    .section .text.entry, "ax"
    .globl _start
/* void _start(struct bootinfo *bi) -- called by the loader (SysV ABI), interrupts off. */
_start:
    lea boot_stack_top(%rip), %rsp
    xor %ebp, %ebp
    call vmm_main
1:  cli
    hlt
    jmp 1b

/* Exception stubs: push a uniform frame (vector, error code) and call exception_report(frame),
 * which prints a register dump and halts. Vectors 8, 10-14, 17, 21, 29, 30 push an error code. */
    .text
.macro EXC_NOERR vec
    .globl exc_stub_\vec
exc_stub_\vec:
    pushq $0
    pushq $\vec
    jmp exc_common
.endm
.macro EXC_ERR vec
    .globl exc_stub_\vec
exc_stub_\vec:
    pushq $\vec
    jmp exc_common
.endm

EXC_NOERR 0
EXC_NOERR 1
EXC_NOERR 2
EXC_NOERR 3
EXC_NOERR 4
EXC_NOERR 5
EXC_NOERR 6
EXC_NOERR 7
EXC_ERR   8
EXC_NOERR 9
EXC_ERR   10
EXC_ERR   11
EXC_ERR   12
EXC_ERR   13
EXC_ERR   14
EXC_NOERR 15
EXC_NOERR 16
EXC_ERR   17
EXC_NOERR 18
EXC_NOERR 19
EXC_NOERR 20
EXC_ERR   21
EXC_NOERR 22
EXC_NOERR 23
EXC_NOERR 24
EXC_NOERR 25
EXC_NOERR 26
EXC_NOERR 27
EXC_NOERR 28
EXC_ERR   29
EXC_ERR   30
EXC_NOERR 31

/* An NMI in root mode is not an error (a watchdog, a platform event): return at once. */
    .globl nmi_stub
nmi_stub:
    iretq

exc_common:
    push %r15; push %r14; push %r13; push %r12; push %r11; push %r10; push %r9; push %r8
    push %rdi; push %rsi; push %rbp; push %rbx; push %rdx; push %rcx; push %rax
    mov %rsp, %rdi
    and $-16, %rsp
    call exception_report        /* does not return */
2:  cli
    hlt
    jmp 2b

/* int vmx_enter(struct vcpu *v, int launched)
 * Loads the guest's GPRs from v (gpr[16] at offset 0), VMLAUNCHes or VMRESUMEs. CR2 is not
 * touched: the host never page-faults, so it keeps the guest's value between exit and entry
 * (the run loop swaps it only when it switches guests). Returns 0 after a VM exit (guest registers saved back into v), 1 on VMfailValid,
 * 2 on VMfailInvalid. HOST_RIP is vmx_exit; HOST_RSP is written here, so the exit path finds
 * v at the top of the stack. */
    .globl vmx_enter
vmx_enter:
    push %rbp; push %rbx; push %r12; push %r13; push %r14; push %r15
    push %rdi
    mov $0x6C14, %eax               /* VMCS_HOST_RSP */
    vmwrite %rsp, %rax
    test %esi, %esi                 /* flags survive the movs below */
    mov 0(%rdi), %rax
    mov 8(%rdi), %rcx
    mov 16(%rdi), %rdx
    mov 24(%rdi), %rbx
    mov 40(%rdi), %rbp
    mov 48(%rdi), %rsi
    mov 64(%rdi), %r8
    mov 72(%rdi), %r9
    mov 80(%rdi), %r10
    mov 88(%rdi), %r11
    mov 96(%rdi), %r12
    mov 104(%rdi), %r13
    mov 112(%rdi), %r14
    mov 120(%rdi), %r15
    mov 56(%rdi), %rdi
    jnz 3f
    vmlaunch
    jmp 4f
3:  vmresume
4:  pop %rdi                        /* VM entry failed; pop/mov leave CF/ZF intact */
    mov $1, %eax
    jnc 5f
    mov $2, %eax
5:  pop %r15; pop %r14; pop %r13; pop %r12; pop %rbx; pop %rbp
    ret

    .globl vmx_exit
vmx_exit:
    push %rdi                       /* guest RDI; v is just above it */
    mov 8(%rsp), %rdi
    mov %rax, 0(%rdi)
    mov %rcx, 8(%rdi)
    mov %rdx, 16(%rdi)
    mov %rbx, 24(%rdi)
    mov %rbp, 40(%rdi)
    mov %rsi, 48(%rdi)
    mov %r8, 64(%rdi)
    mov %r9, 72(%rdi)
    mov %r10, 80(%rdi)
    mov %r11, 88(%rdi)
    mov %r12, 96(%rdi)
    mov %r13, 104(%rdi)
    mov %r14, 112(%rdi)
    mov %r15, 120(%rdi)
    pop 56(%rdi)
    pop %rdi
    xor %eax, %eax
    pop %r15; pop %r14; pop %r13; pop %r12; pop %rbx; pop %rbp
    ret

    .bss
    .balign 16
boot_stack:
    .skip 65536
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
