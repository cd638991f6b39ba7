; Multiboot test kernel as a 32-bit ELF executable: the loader places it by its
; program headers (linked at 1 MiB: ld -m elf_i386 -Ttext=0x100000 -e start).
; See mb_common.inc for what it checks.

%define MB_NAME 'mb_elf'

MB_MAGIC        equ 0x1BADB002
MB_FLAGS        equ 0x00000003      ; bit 0: page-aligned modules, bit 1: memory info
MB_CHECKSUM     equ -(MB_MAGIC + MB_FLAGS)

section .text
global start
        ; The header must lie in the first 8192 bytes of the file: it opens .text,
        ; the first loaded section.
        align   4
mb_header:
        dd      MB_MAGIC, MB_FLAGS, MB_CHECKSUM
start:
        jmp     mb_main

%include "mb_common.inc"
