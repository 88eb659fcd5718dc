/*
 * Multiboot (v1) entry for the PSMigration test guest.
 *
 * QEMU's -kernel loader finds the header below in the first 8 KiB of the
 * file, loads the image at 1 MiB and jumps to _start in 32-bit protected
 * mode (flat segments, paging off, interrupts off) with EAX = 0x2BADB002 and
 * EBX = physical address of the multiboot info structure.
 *
 * We switch to 64-bit long mode (identity-mapped 0-4 GiB with 2 MiB pages)
 * and run the C code in ring 3 with IOPL 3 (so it may still use in/out).
 * Why ring 3: on hosts whose /dev/kvm is a software hypervisor such as PVM
 * (nested clouds without VT-x/SVM) only 64-bit user-mode code runs natively;
 * ring-0 or 32-bit guest code is emulated instruction by instruction, about
 * a thousand times slower. On hardware KVM and TCG this makes no difference.
 * The guest takes no interrupts or exceptions, so it needs no IDT or TSS.
 */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* bit 0: page-align modules, bit 1: want memory info/map */

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE (0x18 | 3)
#define SEL_UDATA (0x20 | 3)

        .section .multiboot, "a"
        .balign 4
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)

        .section .text
        .code32
        .globl _start
        .type _start, @function
_start:
        cli
        movl    $stack_top, %esp
        movl    %eax, %esi              /* keep the multiboot magic and info pointer */
        movl    %ebx, %ebp

        /* Zero .bss ourselves rather than trusting the loader to do it. */
        cld
        movl    $__bss_start, %edi
        movl    $__bss_end, %ecx
        subl    %edi, %ecx
        shrl    $2, %ecx
        xorl    %eax, %eax
        rep stosl

        call    build_page_tables

        movl    %cr4, %eax
        orl     $0x20, %eax             /* CR4.PAE */
        movl    %eax, %cr4
        movl    $pml4, %eax
        movl    %eax, %cr3
        movl    $0xC0000080, %ecx       /* EFER.LME */
        rdmsr
        orl     $0x100, %eax
        wrmsr
        movl    %cr0, %eax
        orl     $0x80000001, %eax       /* CR0.PG | CR0.PE */
        movl    %eax, %cr0

        lgdt    gdt_ptr
        ljmp    $SEL_KCODE, $long_mode

/* PML4[0] -> PDPT[0..3] -> 4 page directories of 2 MiB pages covering 4 GiB.
 * Every entry is present, writable and user-accessible. */
build_page_tables:
        movl    $pdpt + 0x7, pml4
        movl    $pd + 0x7, %eax
        xorl    %ecx, %ecx
1:      movl    %eax, pdpt(,%ecx,8)
        addl    $4096, %eax
        incl    %ecx
        cmpl    $4, %ecx
        jne     1b

        xorl    %ecx, %ecx              /* ecx = 2 MiB page number */
2:      movl    %ecx, %eax
        shll    $21, %eax
        orl     $0x87, %eax             /* present, writable, user, 2 MiB page */
        movl    %eax, pd(,%ecx,8)
        incl    %ecx
        cmpl    $2048, %ecx
        jne     2b
        ret

        .code64
long_mode:
        movw    $SEL_KDATA, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss

        /* iretq into ring 3: SS, RSP, RFLAGS (IOPL 3, IF off), CS, RIP */
        pushq   $SEL_UDATA
        movl    $stack_top, %eax
        pushq   %rax
        pushq   $0x3002
        pushq   $SEL_UCODE
        movl    $user_entry, %eax
        pushq   %rax
        iretq

user_entry:
        movw    $SEL_UDATA, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movl    %esi, %edi              /* main(magic, info) */
        movl    %ebp, %esi
        call    main

        /* main never returns; ring 3 cannot hlt, so just spin. */
3:      pause
        jmp     3b

        .section .rodata
        .balign 8
gdt:
        .quad   0
        .quad   0x00af9a000000ffff      /* 0x08 ring-0 64-bit code */
        .quad   0x00cf92000000ffff      /* 0x10 ring-0 data */
        .quad   0x00affa000000ffff      /* 0x18 ring-3 64-bit code */
        .quad   0x00cff2000000ffff      /* 0x20 ring-3 data */
gdt_end:
gdt_ptr:
        .word   gdt_end - gdt - 1
        .long   gdt

        .section .bss
        .balign 4096
pml4:   .skip   4096
pdpt:   .skip   4096
pd:     .skip   4 * 4096
stack_bottom:
        .skip   16384
stack_top:

        /* Tell ld we do not need an executable stack (silences a warning). */
        .section .note.GNU-stack, "", @progbits
