; pm_faults: protected-mode exceptions and their error codes.
;
; Error codes (SDM Vol. 3 §6.13): a selector error code is the selector's
; index and TI bit (RPL bits replaced by IDT = bit 1 and EXT = bit 0); an IDT
; reference is vector * 8 + 2 (+ 1 when the event was not caused by the
; program, e.g. an exception's own delivery failing). Faults push the address
; of the faulting instruction, traps and INT n the next one (§6.5).
;
; Segment register loads (SDM Vol. 2 MOV, Vol. 3 §5.5-5.6, §6.15):
;   DS beyond the GDT limit, a system descriptor, an execute-only code segment,
;   RPL/CPL above the DPL -> #GP(selector); a not-present data segment -> #NP;
;   SS not present -> #SS(selector); SS read-only, SS DPL or RPL != CPL -> #GP;
;   SS null -> #GP(0); DS null is allowed, an access through it #GP(0).
; Limits and rights: a byte/dword past a 4 KiB data limit, below the limit of
;   an expand-down segment, a write to a read-only segment or through CS ->
;   #GP(0); [EBP] past the SS limit -> #SS(0); from ring 3 a PUSH past the SS
;   limit -> #SS(0) with ESP unchanged.
; Far JMP (SDM Vol. 2 JMP): to a data segment, a DPL3 non-conforming code
;   segment from CPL0 -> #GP(sel); not-present code -> #NP(sel); EIP past the
;   new CS limit -> #GP(0); null -> #GP(0); to a TSS with limit < 67H ->
;   #TS(sel) (SDM Vol. 3 §7.3, Table 7-1); a not-present TSS -> #NP(sel); the
;   busy current TSS -> #GP(sel).
; #UD (UD2), #DE (DIV by 0).
; IDT (SDM Vol. 3 §6.12.1.1, §6.11, §6.10): INT n to a not-present gate ->
;   #NP(n*8+2); to a call-gate type -> #GP(n*8+2); past the IDT limit ->
;   #GP(n*8+2); #UD through a not-present gate -> #NP(6*8+2+1) (EXT);
;   #GP whose gate is not present -> #NP while delivering a contributory
;   exception -> #DF with error 0 (§6.15, Table 6-5).
; From ring 3: INT3 / INTO / INT 40h through DPL0 gates -> #GP(n*8+2) at the
;   instruction; INT3 through a DPL3 gate -> vector 3 in ring 0 with the stack
;   from TSS.SS0:ESP0 and the ring-3 SS:ESP pushed; INT1 (ICEBP) is not
;   DPL-checked; a DPL0 data segment load -> #GP(sel).

%define TEST_NAME 'pm_faults'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
scratch:        resd 4
section .text

SEL_NP_DATA     equ 0x80        ; data RW DPL0, not present
SEL_XO_CODE     equ 0x88        ; code execute-only DPL0
SEL_RO_DATA     equ 0x90        ; data read-only DPL0
SEL_DATA_DPL3   equ 0x98        ; data RW DPL3
SEL_SMALL_SS    equ 0xA0        ; data RW DPL0, limit 0x7FFF bytes, B = 1
SEL_SMALL_DS    equ 0xA8        ; data RW DPL0, limit 0xFFF bytes
SEL_EXPDOWN     equ 0xB0        ; data RW expand-down, limit 0xFFF, B = 1: offsets 0x1000-0xFFFFFFFF
SEL_TSS_SHORT   equ 0xB8        ; 32-bit TSS, limit 0x50 (< 67H)
SEL_TSS_NP      equ 0xC0        ; 32-bit TSS, not present
SEL_NP_CODE     equ 0xC8        ; code DPL0, not present
SEL_CODE_64K    equ 0xD0        ; 32-bit code DPL0, limit 0xFFFF bytes
SEL_SS3_SMALL   equ 0xD8        ; data RW DPL3, limit 0x4001 bytes, B = 1

main:
        INIT
        call    pm_setup
        SETDESC SEL_NP_DATA, 0, 0xFFFFF, 0x12, FL_32
        SETDESC SEL_XO_CODE, 0, 0xFFFFF, 0x98, FL_32
        SETDESC SEL_RO_DATA, 0, 0xFFFFF, 0x90, FL_32
        SETDESC SEL_DATA_DPL3, 0, 0xFFFFF, ACC_DATA3, FL_32
        SETDESC SEL_SMALL_SS, 0, 0x7FFF, ACC_DATA0, 0x4
        SETDESC SEL_SMALL_DS, 0, 0xFFF, ACC_DATA0, 0x4
        SETDESC SEL_EXPDOWN, 0, 0xFFF, 0x96, 0x4
        SETDESC SEL_TSS_SHORT, 0x3100, 0x50, ACC_TSS32, 0
        SETDESC SEL_TSS_NP, 0x3100, 0x67, 0x09, 0
        SETDESC SEL_NP_CODE, 0, 0xFFFFF, 0x1A, FL_32
        SETDESC SEL_CODE_64K, 0, 0xFFFF, ACC_CODE0, 0x4
        SETDESC SEL_SS3_SMALL, 0, 0x4001, ACC_DATA3, 0x4
        ENTER_PM32

; ---- segment register loads ------------------------------------------------------------------
        TRY
        mov     ax, 0x800                       ; index 0x100: bytes 0x800-0x807, GDT limit 0x7FF
        AT
        mov     ds, ax
        EXPECT_EXC 'mov ds, 0800h (past the GDT limit)', 13, 0x800

        TRY
        mov     ax, SEL_TSS
        AT
        mov     ds, ax
        EXPECT_EXC 'mov ds, TSS descriptor', 13, SEL_TSS

        TRY
        mov     ax, SEL_XO_CODE
        AT
        mov     es, ax
        EXPECT_EXC 'mov es, execute-only code', 13, SEL_XO_CODE

        TRY
        mov     ax, SEL_NP_DATA
        AT
        mov     fs, ax
        EXPECT_EXC 'mov fs, not-present data', 11, SEL_NP_DATA

        TRY
        mov     ax, SEL_NP_DATA
        AT
        mov     ss, ax
        EXPECT_EXC 'mov ss, not-present data', 12, SEL_NP_DATA

        TRY
        mov     ax, SEL_RO_DATA
        AT
        mov     ss, ax
        EXPECT_EXC 'mov ss, read-only data', 13, SEL_RO_DATA

        TRY
        mov     ax, SEL_DATA_DPL3 | 3
        AT
        mov     ss, ax
        EXPECT_EXC 'mov ss, DPL3 RPL3 data at CPL0', 13, SEL_DATA_DPL3

        TRY
        mov     ax, SEL_DATA32 | 1
        AT
        mov     ss, ax
        EXPECT_EXC 'mov ss, DPL0 data with RPL1 at CPL0', 13, SEL_DATA32

        TRY
        xor     ax, ax
        AT
        mov     ss, ax
        EXPECT_EXC 'mov ss, null', 13, 0

        TRY
        mov     ax, SEL_DATA32 | 3
        AT
        mov     gs, ax
        EXPECT_EXC 'mov gs, DPL0 data with RPL3', 13, SEL_DATA32

        TRY
        xor     ax, ax
        mov     ds, ax                          ; a null DS is fine ...
        AT
        mov     eax, [scratch]                  ; ... until it is used
        EXPECT_EXC 'read through null DS', 13, 0

; ---- limits and rights -----------------------------------------------------------------------
        ARM_RESUME .lim_bad
        mov     ax, SEL_SMALL_DS
        mov     ds, ax
        mov     al, [0xFFF]                     ; last byte: fine
        mov     eax, [0xFFC]                    ; last dword: fine
        mov     ax, SEL_EXPDOWN
        mov     ds, ax
        mov     eax, [0x1000]                   ; expand-down: lowest valid offset
        mov     eax, [0xFFFFFFFC]               ; and the highest dword
        mov     ax, SEL_RO_DATA
        mov     ds, ax
        mov     eax, [scratch]                  ; read-only data: reads are fine
        mov     ax, SEL_SMALL_SS
        mov     ss, ax
        mov     ebp, 0x7FFC
        mov     eax, [ebp]                      ; last dword of the stack segment
        mov     ax, SEL_DATA32
        mov     ss, ax
        mov     ds, ax
        DISARM
        jmp     .lim_ok
.lim_bad:
        FAIL32  'an access within the segment limits faulted'
.lim_ok:

        TRY
        mov     ax, SEL_SMALL_DS
        mov     ds, ax
        AT
        mov     eax, [0xFFE]                    ; bytes 0xFFE-0x1001
        EXPECT_EXC 'dword across a 0xFFF data limit', 13, 0

        TRY
        mov     ax, SEL_SMALL_DS
        mov     es, ax
        AT
        mov     byte [es:0x1000], 1
        EXPECT_EXC 'byte write past a 0xFFF data limit', 13, 0

        TRY
        mov     ax, SEL_EXPDOWN
        mov     ds, ax
        AT
        mov     eax, [0xFFF]                    ; expand-down: 0..0xFFF are outside
        EXPECT_EXC 'expand-down segment offset 0xFFF', 13, 0

        TRY
        mov     ax, SEL_RO_DATA
        mov     ds, ax
        AT
        mov     dword [scratch], 1
        EXPECT_EXC 'write to read-only data', 13, 0

        TRY
        AT
        mov     dword [cs:scratch], 1
        EXPECT_EXC 'write through CS', 13, 0

        TRY
        mov     ax, SEL_SMALL_SS
        mov     ss, ax
        mov     ebp, 0x8000
        AT
        mov     eax, [ebp]                      ; SS-relative, past the 0x7FFF limit
        EXPECT_EXC '[ebp] past the SS limit', 12, 0

; ---- far JMP checks ------------------------------------------------------------------------
        TRY
        AT
        jmp     SEL_DATA32:0
        EXPECT_EXC 'jmp far to a data segment', 13, SEL_DATA32

        TRY
        AT
        jmp     SEL_NP_CODE:0
        EXPECT_EXC 'jmp far to not-present code', 11, SEL_NP_CODE

        TRY
        AT
        jmp     (SEL_CODE32_R3 & ~3):0
        EXPECT_EXC 'jmp far to DPL3 non-conforming code at CPL0', 13, SEL_CODE32_R3 & ~3

        TRY
        AT
        jmp     SEL_CODE_64K:0x10000
        EXPECT_EXC 'jmp far past the new CS limit', 13, 0

        TRY
        AT
        jmp     0:0
        EXPECT_EXC 'jmp far to the null selector', 13, 0

        TRY
        AT
        jmp     SEL_TSS_SHORT:0
        EXPECT_EXC 'jmp to a TSS with limit 50h', 10, SEL_TSS_SHORT

        TRY
        AT
        jmp     SEL_TSS_NP:0
        EXPECT_EXC 'jmp to a not-present TSS', 11, SEL_TSS_NP

        TRY
        AT
        jmp     SEL_TSS:0
        EXPECT_EXC 'jmp to the busy current TSS', 13, SEL_TSS

; ---- #UD, #DE --------------------------------------------------------------------------------
        TRY
        AT
        ud2
        EXPECT_EXC 'ud2', 6, -1

        TRY
        xor     ecx, ecx
        mov     eax, 1
        xor     edx, edx
        AT
        div     ecx
        EXPECT_EXC 'div by zero', 0, -1

; ---- IDT checks ------------------------------------------------------------------------------
        mov     byte [IDT_BASE + 0x41 * 8 + 5], 0x0E    ; gate 41h: P = 0
        TRY
        AT
        int     0x41
        EXPECT_EXC 'int 41h, not-present gate', 11, 0x41 * 8 + 2

        mov     byte [IDT_BASE + 0x42 * 8 + 5], GATE_CALL32  ; gate 42h: a call gate type
        TRY
        AT
        int     0x42
        EXPECT_EXC 'int 42h, call-gate type in the IDT', 13, 0x42 * 8 + 2

        lidt    [small_idtr]                    ; limit covers vectors 0..40h
        TRY
        AT
        int     0x41
        EXPECT_EXC 'int 41h past the IDT limit', 13, 0x41 * 8 + 2
        lidt    [pm_idtr32]

        mov     byte [IDT_BASE + 6 * 8 + 5], 0x0E       ; #UD gate not present
        TRY
        AT
        ud2
        EXPECT_EXC '#UD through a not-present gate (EXT)', 11, 6 * 8 + 2 + 1
        mov     byte [IDT_BASE + 6 * 8 + 5], GATE_INT32

        mov     byte [IDT_BASE + 13 * 8 + 5], 0x0E      ; #GP gate not present
        TRY
        xor     ax, ax
        mov     ss, ax                          ; #GP(0) -> #NP delivering it -> #DF
        EXPECT_EXC_EIP '#GP with a not-present gate: double fault', 8, 0, [exc_eip]
        mov     byte [IDT_BASE + 13 * 8 + 5], GATE_INT32

; ---- from ring 3 -----------------------------------------------------------------------------
        TRY
        ENTER_RING3 .r3_int3, .r3_back1
.r3_int3:
        RING3_ENTRY
        AT
        int3
        RING3_EXIT
.r3_back1:
        EXPECT_EXC 'ring 3: int3 through a DPL0 gate', 13, 3 * 8 + 2
        CHECK32 dword [exc_cs], SEL_CODE32_R3, 'ring 3: int3 DPL0 gate: pushed CS'

        TRY
        ENTER_RING3 .r3_int40, .r3_back2
.r3_int40:
        RING3_ENTRY
        AT
        int     0x40
        RING3_EXIT
.r3_back2:
        EXPECT_EXC 'ring 3: int 40h through a DPL0 gate', 13, 0x40 * 8 + 2

        TRY
        ENTER_RING3 .r3_into, .r3_back3
.r3_into:
        RING3_ENTRY
        mov     al, 0x7F
        add     al, 1                           ; OF = 1
        AT
        into
        RING3_EXIT
.r3_back3:
        EXPECT_EXC 'ring 3: into (OF=1) through a DPL0 gate', 13, 4 * 8 + 2

        TRY
        ENTER_RING3 .r3_icebp, .r3_back4
.r3_icebp:
        RING3_ENTRY
        db      0xF1                            ; INT1 / ICEBP: no DPL check
.after_icebp:
        RING3_EXIT
.r3_back4:
        EXPECT_EXC_EIP 'ring 3: icebp through a DPL0 gate', 1, -1, .after_icebp

        SETIDT_STUB 3, GATE_INT32 | GATE_DPL3
        TRY
        ENTER_RING3 .r3_int3b, .r3_back5
.r3_int3b:
        RING3_ENTRY
        int3
.after_int3:
        RING3_EXIT
.r3_back5:
        EXPECT_EXC_EIP 'ring 3: int3 through a DPL3 gate', 3, -1, .after_int3
        CHECK32 dword [exc_cs], SEL_CODE32_R3, 'ring 3: int3: pushed CS'
        CHECK32 dword [exc_ss], SEL_DATA32_R3, 'ring 3: int3: pushed SS'
        CHECK32 dword [exc_esp], STACK3_TOP, 'ring 3: int3: pushed ESP'
        CHECK32 dword [exc_hss], SEL_DATA32, 'ring 3: int3: handler SS (TSS.SS0)'
        CHECK32 dword [exc_hesp], STACK0_TOP - 20, 'ring 3: int3: handler ESP (TSS.ESP0 - 20)'
        CHECK32M dword [exc_eflags], 0x3002, 0x0002, 'ring 3: int3: pushed EFLAGS IOPL/bit 1'
        SETIDT_STUB 3, GATE_INT32

        TRY
        ENTER_RING3 .r3_ds, .r3_back6
.r3_ds:
        RING3_ENTRY
        mov     ax, SEL_DATA32
        AT
        mov     ds, ax
        RING3_EXIT
.r3_back6:
        EXPECT_EXC 'ring 3: mov ds, DPL0 data', 13, SEL_DATA32

        ; Ring 3 with SS limit 0x4001 and ESP 0x4004: PUSH EAX would write 0x4000-0x4003.
        TRY
        mov     dword [r3_back_eip], .r3_back7
        mov     [r3_back_esp], esp
        push    dword SEL_SS3_SMALL | 3
        push    dword 0x4004
        push    dword 2
        push    dword SEL_CODE32_R3
        push    dword .r3_push
        iretd
.r3_push:
        RING3_ENTRY
        AT
        push    eax
        RING3_EXIT
.r3_back7:
        EXPECT_EXC 'ring 3: push past the SS limit', 12, 0
        CHECK32 dword [exc_esp], 0x4004, 'ring 3: push past the SS limit: pushed ESP (unchanged)'
        CHECK32 dword [exc_ss], SEL_SS3_SMALL | 3, 'ring 3: push past the SS limit: pushed SS'

        FINISH32

small_idtr:     dw 0x41 * 8 - 1
                dd IDT_BASE
