/*
 * _start: where every vCPU enters (ELF entry point), at CPL3 with
 * RDI = boot info GPA and RSI = vCPU id (see include/arom/abi.h).
 * Hands both to arom_runtime_start(), which never returns.
 */
        .section .text.start, "ax", @progbits
        .globl  _start
        .type   _start, @function
_start:
        xorl    %ebp, %ebp              /* terminate frame-pointer chains */
        movq    %rsp, %rdx              /* 3rd arg: top of this vCPU's stack */
        andq    $-16, %rsp              /* SysV: 16-byte aligned before the call */
        call    arom_runtime_start
        ud2                             /* unreachable */
        .size   _start, . - _start

        .section .note.GNU-stack, "", @progbits
