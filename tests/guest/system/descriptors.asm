; descriptors: LAR, LSL, VERR, VERW, ARPL, SLDT, STR, LLDT, segments in an
; LDT, and the descriptor accessed bit.
;
; SDM Vol. 2 LAR (ZF = 1 and dest = descriptor dword 1 AND 00FxFF00H (bits 19:16
; undefined), or FF00H
; for a 16-bit operand, when the selector is in the table, the type is valid
; for LAR - code, data, LDT, TSS, call and task gates, not interrupt/trap
; gates or reserved types - and, unless conforming code, DPL >= CPL and RPL;
; otherwise ZF = 0 and dest unchanged, never a fault), LSL (the byte-granular
; limit; code, data, LDT and TSS only), VERR/VERW (readable / writable from
; CPL and RPL; conforming readable code passes VERR at any level; system
; descriptors fail), ARPL (raises the destination RPL, ZF), SLDT/STR (to a
; 32-bit register: upper half cleared), LLDT (#GP(sel) for a non-LDT or TI = 1
; selector, #NP(sel) when not present, null allowed). LAR, LSL, VERR, VERW,
; ARPL, SLDT, STR, LLDT and LTR are #UD in real and virtual-8086 mode.
; Vol. 3 §3.4.5.1: loading a segment register sets the descriptor's accessed
; bit. §3.5.1: selectors with TI = 1 use the LDT; past its limit -> #GP(sel).

%define TEST_NAME 'descriptors'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
rm_ud:          resw 1
rm_gp:          resw 1
rm_resume_ip:   resw 1
rm_resume_sp:   resw 1
zf_out:         resd 1
r3_res:         resd 16
section .text

SEL_LDT         equ 0x80        ; LDT at LDT_AREA, 3 entries
SEL_DATA_NA     equ 0x88        ; data RW DPL0, accessed bit clear
SEL_CONF        equ 0x90        ; conforming readable code DPL0
SEL_XO          equ 0x98        ; execute-only code DPL0
SEL_DATA3       equ 0xA0        ; data RW DPL3, limit 0x12345 bytes
SEL_RO_G        equ 0xA8        ; data read-only DPL0, 4 GiB (G = 1)
SEL_INTGATE     equ 0xB0        ; an interrupt gate in the GDT
SEL_CALLGATE    equ 0xB8        ; 32-bit call gate DPL0
SEL_RSVD8       equ 0xC0        ; system type 8 (reserved)
SEL_LDT_NP      equ 0xC8        ; LDT, not present
LDT_DATA        equ 0x0C        ; LDT entry 1: data base 0x20000, limit 0xFFFF
LDT_DATA3       equ 0x17        ; LDT entry 2: data DPL3 base 0x30000, limit 0xFFF (RPL 3)

; ZF -> [zf_out] (1 or 0); preserves the other registers.
%macro SAVE_ZF 0
        pushfd
        push    eax
        setz    al
        movzx   eax, al
        mov     [zf_out], eax
        pop     eax
        popfd
%endmacro

; RM_UD label, instruction...: in real mode, expect #UD (and no #GP) from the instruction.
%macro RM_UD 2+
        mov     word [rm_ud], 0
        mov     word [rm_gp], 0
        mov     word [rm_resume_ip], %%after
        mov     [rm_resume_sp], sp
        %2
%%after:
        EXPECTW [rm_ud], 1, {%1, ' in real mode: #UD'}
        EXPECTW [rm_gp], 0, {%1, ' in real mode: no #GP'}
%endmacro

main:
        INIT
        SET_VECTOR 6, rm_catch6
        SET_VECTOR 13, rm_catch13
        xor     ax, ax
        RM_UD   'lar', lar ax, ax
        RM_UD   'lsl', lsl ax, ax
        RM_UD   'verr', verr ax
        RM_UD   'verw', verw ax
        RM_UD   'arpl', arpl ax, ax
        RM_UD   'sldt', sldt ax
        RM_UD   'str', str ax
        RM_UD   'lldt', lldt ax
        RM_UD   'ltr', ltr ax

        call    pm_setup
        SETDESC SEL_LDT, LDT_AREA, 0x17, ACC_LDT, 0
        SETDESC SEL_DATA_NA, 0, 0xFFFFF, ACC_DATA0, FL_32
        SETDESC SEL_CONF, 0, 0xFFFFF, 0x9E, FL_32
        SETDESC SEL_XO, 0, 0xFFFFF, 0x98, FL_32
        SETDESC SEL_DATA3, 0, 0x12345, ACC_DATA3, 0x4
        SETDESC SEL_RO_G, 0, 0xFFFFF, 0x90, FL_32
        SETGATE_AT GDT_BASE + SEL_INTGATE, SEL_CODE32, 0x1234, GATE_INT32, 0
        SETGATE_AT GDT_BASE + SEL_CALLGATE, SEL_CODE32, 0x1234, GATE_CALL32, 2
        SETDESC SEL_RSVD8, 0, 0x67, 0x88, 0
        SETDESC SEL_LDT_NP, LDT_AREA, 0x17, 0x02, 0
        mov     dword [LDT_AREA], 0
        mov     dword [LDT_AREA + 4], 0
        SETDESC LDT_AREA - GDT_BASE + 8, 0x20000, 0xFFFF, ACC_DATA0, 0x4      ; LDT entry 1
        SETDESC LDT_AREA - GDT_BASE + 16, 0x30000, 0xFFF, ACC_DATA3, 0x4      ; LDT entry 2
        ENTER_PM32

; ---- accessed bit --------------------------------------------------------------------------
        CHECK32M dword [GDT_BASE + SEL_DATA32 + 4], 0x100, 0x100, 'accessed bit set by loading DS (10h)'
        CHECK32M dword [GDT_BASE + SEL_CODE32 + 4], 0x100, 0x100, 'accessed bit set by loading CS (08h)'
        CHECK32M dword [GDT_BASE + SEL_DATA_NA + 4], 0x100, 0, 'accessed bit clear before a load (88h)'
        mov     ax, SEL_DATA_NA
        mov     es, ax
        CHECK32M dword [GDT_BASE + SEL_DATA_NA + 4], 0x100, 0x100, 'accessed bit set by MOV ES (88h)'
        mov     ax, SEL_DATA32
        mov     es, ax

; ---- LAR --------------------------------------------------------------------------------------
%macro LAR_OK 3                         ; selector, expected, label
        mov     eax, 0xDEADBEEF
        mov     bx, %1
        lar     eax, bx
        SAVE_ZF
        CHECK32 dword [zf_out], 1, {%3, ': ZF'}
        CHECK32M eax, 0xFFF0FFFF, %2, {%3, ': value (bits 19:16 undefined)'}
%endmacro
%macro LAR_FAIL 2                       ; selector, label
        mov     eax, 0xDEADBEEF
        mov     bx, %1
        lar     eax, bx
        SAVE_ZF
        CHECK32 dword [zf_out], 0, {%2, ': ZF'}
        CHECK32 eax, 0xDEADBEEF, {%2, ': destination unchanged'}
%endmacro
        LAR_OK  SEL_DATA3, 0x0040F200, 'lar DPL3 data (limit 12345h, B)'
        LAR_OK  SEL_RO_G, 0x00C09000, 'lar read-only data, G, B'
        LAR_OK  SEL_CODE32, 0x00C09B00, 'lar 08h (accessed code)'
        LAR_OK  SEL_LDT, 0x00008200, 'lar LDT descriptor'
        LAR_OK  SEL_TSS, 0x00008B00, 'lar busy 32-bit TSS'
        LAR_OK  SEL_CALLGATE, 0x00008C00, 'lar call gate'
        LAR_FAIL SEL_INTGATE, 'lar interrupt gate'
        LAR_FAIL SEL_RSVD8, 'lar reserved system type 8'
        LAR_FAIL 0, 'lar null selector'
        LAR_FAIL 0x800, 'lar past the GDT limit'
        LAR_FAIL SEL_DATA32 | 3, 'lar DPL0 data with RPL 3'
        LAR_OK  SEL_CONF | 3, 0x00C09E00, 'lar conforming code with RPL 3'
        mov     eax, 0xDEADBEEF
        mov     bx, SEL_DATA3
        lar     ax, bx
        CHECK32 eax, 0xDEADF200, 'lar ax (16-bit operand)'

; ---- LSL --------------------------------------------------------------------------------------
%macro LSL_OK 3
        mov     eax, 0xDEADBEEF
        mov     bx, %1
        lsl     eax, bx
        SAVE_ZF
        CHECK32 dword [zf_out], 1, {%3, ': ZF'}
        CHECK32 eax, %2, {%3, ': value'}
%endmacro
%macro LSL_FAIL 2
        mov     eax, 0xDEADBEEF
        mov     bx, %1
        lsl     eax, bx
        SAVE_ZF
        CHECK32 dword [zf_out], 0, {%2, ': ZF'}
        CHECK32 eax, 0xDEADBEEF, {%2, ': destination unchanged'}
%endmacro
        LSL_OK  SEL_DATA3, 0x12345, 'lsl byte-granular data'
        LSL_OK  SEL_RO_G, 0xFFFFFFFF, 'lsl 4 KiB-granular data'
        LSL_OK  SEL_LDT, 0x17, 'lsl LDT'
        LSL_OK  SEL_TSS, TSS_LIMIT, 'lsl TSS'
        LSL_FAIL SEL_CALLGATE, 'lsl call gate'
        LSL_FAIL SEL_INTGATE, 'lsl interrupt gate'
        LSL_FAIL 0x800, 'lsl past the GDT limit'

; ---- VERR / VERW ----------------------------------------------------------------------------
%macro VER 4                            ; verr|verw, selector, ZF, label
        mov     bx, %2
        %1      bx
        SAVE_ZF
        CHECK32 dword [zf_out], %3, {%4}
%endmacro
        VER     verr, SEL_DATA32, 1, 'verr data'
        VER     verw, SEL_DATA32, 1, 'verw data'
        VER     verr, SEL_CODE32, 1, 'verr readable code'
        VER     verw, SEL_CODE32, 0, 'verw code'
        VER     verr, SEL_XO, 0, 'verr execute-only code'
        VER     verr, SEL_RO_G, 1, 'verr read-only data'
        VER     verw, SEL_RO_G, 0, 'verw read-only data'
        VER     verr, SEL_TSS, 0, 'verr TSS'
        VER     verr, 0, 0, 'verr null'
        VER     verr, 0x800, 0, 'verr past the GDT limit'
        VER     verr, SEL_DATA32 | 3, 0, 'verr DPL0 data with RPL 3'
        VER     verw, SEL_DATA3 | 3, 1, 'verw DPL3 data with RPL 3'

; ---- ARPL, SLDT, STR ------------------------------------------------------------------------------
        mov     ax, 0x0010
        mov     bx, 0x0003
        arpl    ax, bx
        SAVE_ZF
        CHECK32M eax, 0xFFFF, 0x0013, 'arpl raises RPL'
        CHECK32 dword [zf_out], 1, 'arpl raises RPL: ZF'
        mov     bx, 0x0001
        arpl    ax, bx
        SAVE_ZF
        CHECK32M eax, 0xFFFF, 0x0013, 'arpl keeps a higher RPL'
        CHECK32 dword [zf_out], 0, 'arpl keeps a higher RPL: ZF'
        mov     word [zf_out], 0x0008
        mov     bx, 2
        arpl    [zf_out], bx
        CHECK32M dword [zf_out], 0xFFFF, 0x000A, 'arpl memory operand'
        mov     eax, 0xFFFFFFFF
        sldt    eax
        CHECK32 eax, 0, 'sldt eax (LDTR null after reset)'
        mov     eax, 0xFFFFFFFF
        str     eax
        CHECK32 eax, SEL_TSS, 'str eax'

; ---- LLDT and the LDT -----------------------------------------------------------------------------
        mov     ax, SEL_LDT
        lldt    ax
        mov     eax, 0xFFFFFFFF
        sldt    eax
        CHECK32 eax, SEL_LDT, 'sldt after lldt'
        mov     ax, LDT_DATA
        mov     es, ax
        mov     dword [es:0x10], 0x1D71D7
        CHECK32 dword [0x20010], 0x1D71D7, 'write through an LDT data segment (base 0x20000)'
        CHECK32M dword [LDT_AREA + 8 + 4], 0x100, 0x100, 'LDT descriptor accessed bit set by MOV ES'
        mov     ax, LDT_DATA3
        mov     fs, ax
        mov     dword [fs:0x20], 0x3D73D7
        CHECK32 dword [0x30020], 0x3D73D7, 'write through an LDT DPL3 data segment (base 0x30000)'
        mov     ax, SEL_DATA32
        mov     es, ax
        mov     fs, ax
        mov     bx, LDT_DATA
        lar     eax, bx
        CHECK32M eax, 0xFFF0FFFF, 0x00409300, 'lar of an LDT data segment'
        mov     bx, LDT_DATA
        lsl     eax, bx
        CHECK32 eax, 0xFFFF, 'lsl of an LDT data segment'

        TRY
        mov     ax, 0x1C                        ; LDT entry 3: past the LDT limit 17h
        AT
        mov     ds, ax
        EXPECT_EXC 'mov ds, LDT selector past the LDT limit', 13, 0x1C

        TRY
        mov     ax, SEL_DATA_NA
        AT
        lldt    ax
        EXPECT_EXC 'lldt of a data segment', 13, SEL_DATA_NA

        TRY
        mov     ax, LDT_DATA
        AT
        lldt    ax
        EXPECT_EXC 'lldt of a selector with TI = 1', 13, LDT_DATA & ~3

        TRY
        mov     ax, SEL_LDT_NP
        AT
        lldt    ax
        EXPECT_EXC 'lldt of a not-present LDT', 11, SEL_LDT_NP

        xor     eax, eax
        lldt    ax                              ; null: allowed, the LDT becomes unusable
        sldt    eax
        CHECK32 eax, 0, 'sldt after lldt 0'
        TRY
        mov     ax, LDT_DATA
        AT
        mov     es, ax
        EXPECT_EXC 'mov es, LDT selector with a null LDTR', 13, LDT_DATA & ~3

; ---- ring 3: privilege checks of LAR / LSL / VERR ---------------------------------------------------
        ARM_RESUME .r3_fault
        ENTER_RING3 .r3, .r3_back
.r3:    RING3_ENTRY
        mov     bx, SEL_DATA32                  ; DPL0 data from CPL3
        lar     eax, bx
        setz    byte [r3_res + 0]
        verr    bx
        setz    byte [r3_res + 4]
        mov     bx, SEL_DATA32_R3
        verr    bx
        setz    byte [r3_res + 8]
        verw    bx
        setz    byte [r3_res + 12]
        mov     bx, SEL_CONF | 3                ; conforming readable code: no DPL check
        verr    bx
        setz    byte [r3_res + 16]
        lar     eax, bx
        setz    byte [r3_res + 20]
        mov     bx, SEL_TSS | 3
        lsl     eax, bx
        setz    byte [r3_res + 24]
        mov     bx, SEL_DATA3 | 3
        lsl     eax, bx
        setz    byte [r3_res + 28]
        mov     [r3_res + 32], eax
        RING3_EXIT
.r3_fault:
        FAIL32  'ring 3 LAR/LSL/VERR block faulted'
.r3_back:
        DISARM
        CHECK32M dword [r3_res + 0], 0xFF, 0, 'ring 3: lar DPL0 data fails'
        CHECK32M dword [r3_res + 4], 0xFF, 0, 'ring 3: verr DPL0 data fails'
        CHECK32M dword [r3_res + 8], 0xFF, 1, 'ring 3: verr DPL3 data'
        CHECK32M dword [r3_res + 12], 0xFF, 1, 'ring 3: verw DPL3 data'
        CHECK32M dword [r3_res + 16], 0xFF, 1, 'ring 3: verr DPL0 conforming code'
        CHECK32M dword [r3_res + 20], 0xFF, 1, 'ring 3: lar DPL0 conforming code'
        CHECK32M dword [r3_res + 24], 0xFF, 0, 'ring 3: lsl DPL0 TSS fails'
        CHECK32M dword [r3_res + 28], 0xFF, 1, 'ring 3: lsl DPL3 data'
        CHECK32 dword [r3_res + 32], 0x12345, 'ring 3: lsl DPL3 data value'

; ---- virtual-8086 mode: #UD -----------------------------------------------------------------------
%macro V86_UD 2+
%push v86ud
        ARM_RESUME %$resume
        ENTER_V86 %$code, 0x3002, %$back
bits 16
%$code:
        xor     ax, ax
%$at:   %2
        int     PM_VEC_EXIT
bits 32
%$back:
        FAIL32  {%1, ' in v86 mode: no exception'}
        jmp     %$end
%$resume:
        CAUGHT  {%1, ' in v86 mode'}, 6, -1, %$at
%$end:
%pop
%endmacro
        V86_UD  'lar', lar ax, ax
        V86_UD  'lsl', lsl ax, ax
        V86_UD  'verr', verr ax
        V86_UD  'verw', verw ax
        V86_UD  'arpl', arpl ax, ax
        V86_UD  'sldt', sldt ax
        V86_UD  'str', str ax
        V86_UD  'lldt', lldt ax
        V86_UD  'ltr', ltr ax

        FINISH32

bits 16
rm_catch6:
        inc     word [cs:rm_ud]
        mov     sp, [cs:rm_resume_sp]
        jmp     word [cs:rm_resume_ip]
rm_catch13:
        inc     word [cs:rm_gp]
        mov     sp, [cs:rm_resume_sp]
        jmp     word [cs:rm_resume_ip]
