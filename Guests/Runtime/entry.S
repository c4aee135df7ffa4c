/*
 * Guest runtime: the entry point and the few instructions Embedded Swift
 * cannot express (it has no inline assembly).
 *
 * Entry ABI (set up by the VMM): CPL3, IOPL=3, interrupts off,
 *   rdi = vCPU index, rsi = number of vCPUs, rdx = guest memory size,
 *   rsp = top of this vCPU's 64 KiB stack (16-byte aligned).
 * Every function here follows the System V x86-64 C ABI and touches no
 * SSE/AVX register.
 */

        .section .text.entry, "ax", @progbits
        .globl  _start
        .type   _start, @function
_start:
        xorl    %ebp, %ebp              /* terminate the frame-pointer chain */
        call    guest_main              /* (cpu, cpus, memorySize) -> Int32 status */
        movl    %eax, %ecx
1:      movl    %ecx, %eax              /* report the status on the exit port; */
        movl    $0xF4, %edx             /* if the VMM re-enters us, report again */
        outl    %eax, %dx
        jmp     1b
        .size   _start, . - _start

        .text

/* void gmem_out8(uint16_t port, uint8_t value) */
        .globl  gmem_out8
        .type   gmem_out8, @function
gmem_out8:
        movl    %edi, %edx
        movl    %esi, %eax
        outb    %al, %dx
        ret
        .size   gmem_out8, . - gmem_out8

/* void gmem_out32(uint16_t port, uint32_t value) */
        .globl  gmem_out32
        .type   gmem_out32, @function
gmem_out32:
        movl    %edi, %edx
        movl    %esi, %eax
        outl    %eax, %dx
        ret
        .size   gmem_out32, . - gmem_out32

/* uint32_t gmem_in32(uint16_t port) */
        .globl  gmem_in32
        .type   gmem_in32, @function
gmem_in32:
        movl    %edi, %edx
        inl     %dx, %eax
        ret
        .size   gmem_in32, . - gmem_in32

/* void gmem_pause(void): spin-loop hint */
        .globl  gmem_pause
        .type   gmem_pause, @function
gmem_pause:
        pause
        ret
        .size   gmem_pause, . - gmem_pause

/* uintptr_t gmem_image_end(void): address of __image_end (linker.ld);
   Swift cannot take the address of a linker-defined symbol directly. */
        .globl  gmem_image_end
        .type   gmem_image_end, @function
gmem_image_end:
        leaq    __image_end(%rip), %rax
        ret
        .size   gmem_image_end, . - gmem_image_end

/*
 * memset/memcpy/memmove, which compiled Swift calls. They are written here
 * rather than in Swift because LLVM's loop-idiom pass would turn a Swift
 * byte loop back into a call to memset/memcpy, i.e. into infinite recursion.
 * `rep stosb`/`rep movsb` run natively at CPL3 and are fast on modern CPUs.
 */

/* void *memset(void *dst, int c, size_t n) */
        .globl  memset
        .type   memset, @function
memset:
        movq    %rdi, %r8
        movl    %esi, %eax
        movq    %rdx, %rcx
        rep stosb
        movq    %r8, %rax
        ret
        .size   memset, . - memset

/* void *memcpy(void *dst, const void *src, size_t n) */
        .globl  memcpy
        .type   memcpy, @function
memcpy:
        movq    %rdi, %rax
        movq    %rdx, %rcx
        rep movsb
        ret
        .size   memcpy, . - memcpy

/* void *memmove(void *dst, const void *src, size_t n) */
        .globl  memmove
        .type   memmove, @function
memmove:
        movq    %rdi, %rax
        movq    %rdx, %rcx
        movq    %rdi, %r8
        subq    %rsi, %r8               /* dst - src (unsigned) */
        cmpq    %rdx, %r8
        jb      2f                      /* dst inside (src, src+n): copy backwards */
        rep movsb
        ret
2:      leaq    -1(%rdi,%rdx), %rdi
        leaq    -1(%rsi,%rdx), %rsi
        std
        rep movsb
        cld
        ret
        .size   memmove, . - memmove

        .section .note.GNU-stack, "", @progbits
