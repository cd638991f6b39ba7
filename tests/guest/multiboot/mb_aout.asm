; Multiboot test kernel as a flat binary with the "a.out kludge" (header flag
; bit 16): the header's address fields say where the file goes. Assembled with
; nasm -f bin at 1 MiB. See mb_common.inc for what it checks.

%define MB_NAME 'mb_aout'

MB_MAGIC        equ 0x1BADB002
MB_FLAGS        equ 0x00010003      ; bit 16: address fields valid; bits 0, 1 as mb_elf
MB_CHECKSUM     equ -(MB_MAGIC + MB_FLAGS)

        org     0x100000
section .text
section .rodata follows=.text
section .bss

section .text
mb_header:
        dd      MB_MAGIC, MB_FLAGS, MB_CHECKSUM
        dd      mb_header               ; header_addr
        dd      mb_header               ; load_addr: the file starts with the header
        dd      load_end                ; load_end_addr
        dd      bss_end                 ; bss_end_addr
        dd      start                   ; entry_addr
start:
        jmp     mb_main

%include "mb_common.inc"

section .rodata
load_end:
section .bss
bss_end:
