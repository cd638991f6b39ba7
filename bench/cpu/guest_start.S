/* Multiboot v1 header and entry for the CPU benchmark guest. The loader enters
 * here in 32-bit protected mode, paging off, EAX = magic, EBX = info. */
  .section .multiboot, "a"
  .align 4
  .long 0x1BADB002            /* magic */
  .long 0x00000003            /* flags: page-aligned modules, memory info */
  .long -(0x1BADB002 + 3)     /* checksum */

  .text
  .globl start
start:
  cli
  mov $stack_top, %esp
  cld
  push %ebx
  push %eax
  call bench_main
1:
  hlt
  jmp 1b

  .bss
  .align 16
  .space 65536
stack_top:
  .section .note.GNU-stack,"",@progbits
