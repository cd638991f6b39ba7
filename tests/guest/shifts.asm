; shifts: ROL ROR RCL RCR SHL/SAL SHR SAR at 8, 16 and 32 bits, with counts 0, 1,
; several, the operand size and beyond, and counts the 5-bit mask brings back
; to 0 or 1; by CL, by an immediate, by 1, on registers and memory.
;
; Expectations come from calc.inc's CALC_SHIFT, the SDM Vol. 2B pseudo-code
; evaluated by the assembler: only flags the manual defines are compared (OF
; only for a masked count of 1, AF never, CF not for SHL/SHR by the operand
; size or more), and a masked count of 0 must leave every flag alone. The
; flags are preset to a pattern before each case so "left alone" is visible.

%define TEST_NAME 'shifts'
        org     0x7C00
%include "common.inc"
%include "calc.inc"

absolute 0x0600
mem:    resd 1
section .text

%define BEFORE (F_ZF | F_PF | F_OF | F_AF)

; SH label, op, bits, value, count, cf_in[, form]: form is cl (default), imm or mem.
%macro SH 6-7 cl
%assign %%before BEFORE | ((%6) * F_CF)
%assign %%vmask (1 << (%3)) - 1
%assign %%fill 0xA5A5A5A5 & ~%%vmask
        CALC_SHIFT %2, %3, %4, %5, %%before
        push    word %%before | 0x0002
        mov     eax, %%fill | ((%4) & %%vmask)
        mov     [mem], eax
        mov     cl, %5
        popf
%ifidni %7, cl
 %if %3 == 8
        %2      al, cl
 %elif %3 == 16
        %2      ax, cl
 %else
        %2      eax, cl
 %endif
%elifidni %7, imm
 %if %3 == 8
        %2      al, %5
 %elif %3 == 16
        %2      ax, %5
 %else
        %2      eax, %5
 %endif
%elifidni %7, mem
 %if %3 == 8
        %2      byte [mem], cl
 %elif %3 == 16
        %2      word [mem], cl
 %else
        %2      dword [mem], cl
 %endif
        mov     eax, [mem]
%else
%error "SH: unknown form"
%endif
        EXPECTFLAGS CALC_M, CALC_F, {%1, ' flags'}
        EXPECTD eax, %%fill | CALC_R, {%1, ' result'}
%endmacro

main:
        INIT

; ---- 8-bit ------------------------------------------------------------------------------------
        SH 'shl8 81,1',   shl, 8, 0x81, 1, 0
        SH 'shl8 40,1',   shl, 8, 0x40, 1, 0, imm
        SH 'shl8 81,4',   shl, 8, 0x81, 4, 0
        SH 'shl8 ff,8',   shl, 8, 0xFF, 8, 0
        SH 'shl8 ff,9',   shl, 8, 0xFF, 9, 1
        SH 'shl8 55,0',   shl, 8, 0x55, 0, 1
        SH 'shl8 55,32',  shl, 8, 0x55, 32, 1
        SH 'shl8 01,33',  shl, 8, 0x01, 33, 0
        SH 'sal8 c0,1',   sal, 8, 0xC0, 1, 0
        SH 'shl8 mem',    shl, 8, 0x3C, 2, 0, mem
        SH 'shr8 81,1',   shr, 8, 0x81, 1, 0
        SH 'shr8 80,7',   shr, 8, 0x80, 7, 0
        SH 'shr8 ff,8',   shr, 8, 0xFF, 8, 1
        SH 'shr8 f0,4',   shr, 8, 0xF0, 4, 1, imm
        SH 'sar8 81,1',   sar, 8, 0x81, 1, 0
        SH 'sar8 80,7',   sar, 8, 0x80, 7, 0
        SH 'sar8 80,8',   sar, 8, 0x80, 8, 0
        SH 'sar8 7f,31',  sar, 8, 0x7F, 31, 1
        SH 'sar8 c0,0',   sar, 8, 0xC0, 0, 0
        SH 'rol8 81,1',   rol, 8, 0x81, 1, 0
        SH 'rol8 01,8',   rol, 8, 0x01, 8, 0
        SH 'rol8 80,9',   rol, 8, 0x80, 9, 0
        SH 'rol8 96,3',   rol, 8, 0x96, 3, 1, imm
        SH 'ror8 01,1',   ror, 8, 0x01, 1, 0
        SH 'ror8 80,8',   ror, 8, 0x80, 8, 0
        SH 'ror8 mem',    ror, 8, 0x0F, 4, 0, mem
        SH 'rcl8 80,1',   rcl, 8, 0x80, 1, 0
        SH 'rcl8 00,1',   rcl, 8, 0x00, 1, 1
        SH 'rcl8 55,9',   rcl, 8, 0x55, 9, 1
        SH 'rcl8 81,10',  rcl, 8, 0x81, 10, 0
        SH 'rcl8 a5,3',   rcl, 8, 0xA5, 3, 1, imm
        SH 'rcr8 01,1',   rcr, 8, 0x01, 1, 0
        SH 'rcr8 00,1',   rcr, 8, 0x00, 1, 1
        SH 'rcr8 55,9',   rcr, 8, 0x55, 9, 0
        SH 'rcr8 a5,5',   rcr, 8, 0xA5, 5, 1

; ---- 16-bit -----------------------------------------------------------------------------------
        SH 'shl16 8001,1',  shl, 16, 0x8001, 1, 0
        SH 'shl16 1234,16', shl, 16, 0x1234, 16, 0
        SH 'shl16 1234,5',  shl, 16, 0x1234, 5, 0, imm
        SH 'shr16 8000,15', shr, 16, 0x8000, 15, 0
        SH 'shr16 8001,1',  shr, 16, 0x8001, 1, 0
        SH 'sar16 8000,15', sar, 16, 0x8000, 15, 0
        SH 'sar16 8000,16', sar, 16, 0x8000, 16, 0
        SH 'sar16 f00f,3',  sar, 16, 0xF00F, 3, 0, imm
        SH 'rol16 8001,4',  rol, 16, 0x8001, 4, 0
        SH 'ror16 0001,16', ror, 16, 0x0001, 16, 1
        SH 'ror16 0001,1',  ror, 16, 0x0001, 1, 0
        SH 'rcl16 8000,17', rcl, 16, 0x8000, 17, 1
        SH 'rcl16 8000,18', rcl, 16, 0x8000, 18, 0
        SH 'rcr16 0001,17', rcr, 16, 0x0001, 17, 0
        SH 'rcr16 1234,4',  rcr, 16, 0x1234, 4, 1
        SH 'sar16 mem',     sar, 16, 0x8421, 3, 0, mem

; ---- 32-bit -----------------------------------------------------------------------------------
        SH 'shl32 80000001,1',  shl, 32, 0x80000001, 1, 0
        SH 'shl32 12345678,31', shl, 32, 0x12345678, 31, 0
        SH 'shl32 12345678,4',  shl, 32, 0x12345678, 4, 1, imm
        SH 'shr32 ffffffff,31', shr, 32, 0xFFFFFFFF, 31, 0
        SH 'shr32 80000000,1',  shr, 32, 0x80000000, 1, 1
        SH 'sar32 80000000,31', sar, 32, 0x80000000, 31, 1
        SH 'sar32 40000000,30', sar, 32, 0x40000000, 30, 0
        SH 'rol32 12345678,36', rol, 32, 0x12345678, 36, 0
        SH 'rol32 12345678,8',  rol, 32, 0x12345678, 8, 0, imm
        SH 'ror32 12345678,0',  ror, 32, 0x12345678, 0, 1
        SH 'ror32 00000001,1',  ror, 32, 0x00000001, 1, 0
        SH 'rcl32 80000000,32', rcl, 32, 0x80000000, 32, 0
        SH 'rcl32 80000000,1',  rcl, 32, 0x80000000, 1, 1
        SH 'rcr32 00000001,31', rcr, 32, 0x00000001, 31, 1
        SH 'rcr32 mem',         rcr, 32, 0x87654321, 7, 1, mem
        SH 'shr32 mem',         shr, 32, 0xDEADBEEF, 12, 0, mem

        FINISH
