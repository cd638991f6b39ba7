; privilege: ring transitions and privileged instructions.
;
; Ring 0 -> 3 by IRET and by RETF (SDM Vol. 2 IRET/RET: return to an outer
; level pops SS:ESP; DS, ES, FS, GS holding a data or non-conforming code
; segment with DPL < the new CPL are loaded with null, others kept).
; Ring 3 -> 0 through a 32-bit call gate with 3 parameters and a 16-bit call
; gate with 2 (SDM Vol. 3 §5.8.5, Figure 5-13: the new stack comes from
; TSS.SS0:ESP0 and receives the caller's SS, ESP, the parameters in the same
; order, CS, EIP; a 16-bit gate pushes words), back with RETF 12 / RETF 4
; (n is released on both stacks, §5.8.6). Gate checks (§5.8.4, JMP/CALL):
; CALL through a DPL0 gate from CPL3 -> #GP(gate), a not-present gate ->
; #NP(gate), JMP through a gate to non-conforming code of another level ->
; #GP(code selector). A DPL0 conforming code segment called from CPL3 runs at
; CPL3 (CS.RPL = 3, §5.8.1.2). RETF or IRET from CPL3 to a CPL0 selector ->
; #GP(selector).
; Privileged instructions at CPL3 -> #GP(0) (§5.9): HLT, LGDT, LIDT, LLDT, LTR,
; MOV to/from CR0, CR3, MOV DR7, CLTS, INVD, WBINVD, INVLPG, RDMSR, WRMSR.
; IOPL-sensitive (§5.10.6? Vol. 1 §18.2/§19.2 I/O; Vol. 2 CLI/STI/POPF): with
; IOPL = 0 CLI and STI -> #GP(0); IN/OUT use the TSS I/O bitmap (port 0xE9
; allowed, 0x80 denied -> #GP(0)); POPF silently keeps IF and IOPL. With
; IOPL = 3: CLI/STI work, any port is allowed, POPF changes IF but not IOPL.

%define TEST_NAME 'privilege'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
r3_cs:          resd 1
r3_ss:          resd 1
r3_esp:         resd 1
r3_ds:          resd 1
r3_es:          resd 1
r3_fs:          resd 1
r3_gs:          resd 1
r3_esp_after:   resd 1
r3_ds_after:    resd 1
r3_es_after:    resd 1
r3_ret:         resd 1
r3_flags:       resd 1
r3_flags2:      resd 1
g_cs:           resd 1
g_ss:           resd 1
g_esp:          resd 1
g_frame:        resd 8
conf_cs:        resd 1
conf_ss:        resd 1
section .text

SEL_GATE32      equ 0x80        ; 32-bit call gate, DPL3, -> 0008:gate32_target, 3 dwords
SEL_GATE16      equ 0x88        ; 16-bit call gate, DPL3, -> 0008:gate16_target, 2 words
SEL_GATE_DPL0   equ 0x90        ; 32-bit call gate, DPL0
SEL_GATE_NP     equ 0x98        ; 32-bit call gate, DPL3, not present
SEL_CONFORMING  equ 0xA0        ; conforming code, DPL0, 32-bit, flat

main:
        INIT
        call    pm_setup
        SETGATE_AT GDT_BASE + SEL_GATE32, SEL_CODE32, ABS(gate32_target), GATE_CALL32 | GATE_DPL3, 3
        SETGATE_AT GDT_BASE + SEL_GATE16, SEL_CODE32, ABS(gate16_target), GATE_CALL16 | GATE_DPL3, 2
        SETGATE_AT GDT_BASE + SEL_GATE_DPL0, SEL_CODE32, ABS(gate32_target), GATE_CALL32, 0
        SETGATE_AT GDT_BASE + SEL_GATE_NP, SEL_CODE32, ABS(gate32_target), (GATE_CALL32 | GATE_DPL3) & 0x7F, 0
        SETDESC SEL_CONFORMING, 0, 0xFFFFF, 0x9E, FL_32
        ENTER_PM32

; ---- ring 0 -> ring 3 by IRET, segment registers nulled or kept ---------------------------
        mov     ax, SEL_DATA32
        mov     ds, ax
        mov     es, ax
        mov     gs, ax
        mov     ax, SEL_DATA32_R3
        mov     fs, ax                          ; DPL3: kept
        ARM_RESUME .iret_fault
        ENTER_RING3 .r3_iret, .r3_iret_back
.r3_iret:
        mov     [ss:r3_cs], cs
        mov     [ss:r3_ss], ss
        mov     [ss:r3_esp], esp
        mov     [ss:r3_ds], ds
        mov     [ss:r3_es], es
        mov     [ss:r3_fs], fs
        mov     [ss:r3_gs], gs
        RING3_EXIT
.iret_fault:
        FAIL32  'iret to ring 3 faulted'
.r3_iret_back:
        DISARM
        CHECK32M dword [r3_cs], 0xFFFF, SEL_CODE32_R3, 'iret to ring 3: CS'
        CHECK32M dword [r3_ss], 0xFFFF, SEL_DATA32_R3, 'iret to ring 3: SS'
        CHECK32 dword [r3_esp], STACK3_TOP, 'iret to ring 3: ESP'
        CHECK32M dword [r3_ds], 0xFFFF, 0, 'iret to ring 3: DS (DPL0) nulled'
        CHECK32M dword [r3_es], 0xFFFF, 0, 'iret to ring 3: ES (DPL0) nulled'
        CHECK32M dword [r3_gs], 0xFFFF, 0, 'iret to ring 3: GS (DPL0) nulled'
        CHECK32M dword [r3_fs], 0xFFFF, SEL_DATA32_R3, 'iret to ring 3: FS (DPL3) kept'

; ---- ring 0 -> ring 3 by RETF ---------------------------------------------------------------
        mov     dword [r3_cs], 0
        mov     dword [r3_esp], 0
        mov     ax, SEL_DATA32
        mov     fs, ax
        ARM_RESUME .retf_fault
        mov     dword [r3_back_eip], .r3_retf_back
        mov     [r3_back_esp], esp
        push    dword SEL_DATA32_R3
        push    dword STACK3_TOP - 0x100
        push    dword SEL_CODE32_R3
        push    dword .r3_retf
        retf
.r3_retf:
        mov     [ss:r3_cs], cs
        mov     [ss:r3_esp], esp
        mov     [ss:r3_fs], fs
        RING3_EXIT
.retf_fault:
        FAIL32  'retf to ring 3 faulted'
.r3_retf_back:
        DISARM
        CHECK32M dword [r3_cs], 0xFFFF, SEL_CODE32_R3, 'retf to ring 3: CS'
        CHECK32 dword [r3_esp], STACK3_TOP - 0x100, 'retf to ring 3: ESP'
        CHECK32M dword [r3_fs], 0xFFFF, 0, 'retf to ring 3: FS (DPL0) nulled'

; ---- ring 3 -> ring 0 through a 32-bit call gate with 3 parameters ------------------------
        ARM_RESUME .cg32_fault
        ENTER_RING3 .r3_cg32, .r3_cg32_back
.r3_cg32:
        RING3_ENTRY
        push    dword 0x11111111                ; param 1
        push    dword 0x22222222                ; param 2
        push    dword 0x33333333                ; param 3
        call    SEL_GATE32:0xDEAD               ; the offset is ignored
.cg32_ret:
        mov     [ss:r3_esp_after], esp
        mov     [ss:r3_ds_after], ds            ; the gate target loaded a DPL0 DS: nulled by RETF
        mov     [ss:r3_es_after], es            ; ES = 0x33: kept
        mov     [ss:r3_cs], cs
        RING3_EXIT
.cg32_fault:
        FAIL32  '32-bit call gate round trip faulted'
.r3_cg32_back:
        DISARM
        CHECK32 dword [g_cs], SEL_CODE32, 'call gate 32: CS in the target'
        CHECK32 dword [g_ss], SEL_DATA32, 'call gate 32: SS from TSS.SS0'
        CHECK32 dword [g_esp], STACK0_TOP - 28, 'call gate 32: ESP = TSS.ESP0 - 7 dwords'
        CHECK32 dword [g_frame + 0], .cg32_ret, 'call gate 32: [esp] return EIP'
        CHECK32M dword [g_frame + 4], 0xFFFF, SEL_CODE32_R3, 'call gate 32: [esp+4] CS'
        CHECK32 dword [g_frame + 8], 0x33333333, 'call gate 32: [esp+8] param 3'
        CHECK32 dword [g_frame + 12], 0x22222222, 'call gate 32: [esp+12] param 2'
        CHECK32 dword [g_frame + 16], 0x11111111, 'call gate 32: [esp+16] param 1'
        CHECK32 dword [g_frame + 20], STACK3_TOP - 12, 'call gate 32: [esp+20] caller ESP'
        CHECK32M dword [g_frame + 24], 0xFFFF, SEL_DATA32_R3, 'call gate 32: [esp+24] caller SS'
        CHECK32 dword [r3_esp_after], STACK3_TOP, 'call gate 32: ESP after RETF 12'
        CHECK32M dword [r3_ds_after], 0xFFFF, 0, 'call gate 32: DS (DPL0) nulled by RETF'
        CHECK32M dword [r3_es_after], 0xFFFF, SEL_DATA32_R3, 'call gate 32: ES (DPL3) kept by RETF'
        CHECK32M dword [r3_cs], 0xFFFF, SEL_CODE32_R3, 'call gate 32: CS after RETF'

; ---- ring 3 -> ring 0 through a 16-bit call gate with 2 parameters ------------------------
        mov     dword [g_esp], 0
        ARM_RESUME .cg16_fault
        ENTER_RING3 .r3_cg16, .r3_cg16_back
.r3_cg16:
        RING3_ENTRY
        push    word 0x1111                     ; param 1
        push    word 0x2222                     ; param 2
        call    SEL_GATE16:0
.cg16_ret:
        mov     [ss:r3_esp_after], esp
        RING3_EXIT
.cg16_fault:
        FAIL32  '16-bit call gate round trip faulted'
.r3_cg16_back:
        DISARM
        CHECK32 dword [g_esp], STACK0_TOP - 12, 'call gate 16: ESP = TSS.ESP0 - 6 words'
        CHECK32 dword [g_frame + 0], ((.cg16_ret - $$ + 0x7C00) & 0xFFFF) | (SEL_CODE32_R3 << 16), 'call gate 16: IP, CS'
        CHECK32 dword [g_frame + 4], 0x11112222, 'call gate 16: params (2, 1)'
        CHECK32 dword [g_frame + 8], ((STACK3_TOP - 4) & 0xFFFF) | (SEL_DATA32_R3 << 16), 'call gate 16: caller SP, SS'
        CHECK32 dword [r3_esp_after], STACK3_TOP, 'call gate 16: ESP after RETF 4'

; ---- gate checks from ring 3 -----------------------------------------------------------------
        R3_TRY
        AT
        call    SEL_GATE_DPL0:0
        R3_EXPECT 'call through a DPL0 gate from CPL3', 13, SEL_GATE_DPL0

        R3_TRY
        AT
        call    SEL_GATE_NP:0
        R3_EXPECT 'call through a not-present gate', 11, SEL_GATE_NP

        R3_TRY
        AT
        jmp     SEL_GATE32:0
        R3_EXPECT 'jmp through a gate to DPL0 non-conforming code', 13, SEL_CODE32

        R3_TRY
        push    dword SEL_CODE32
        push    dword .nowhere
        AT
        retf
        R3_EXPECT 'retf from CPL3 to a CPL0 selector', 13, SEL_CODE32

        R3_TRY
        push    dword 2
        push    dword SEL_CODE32
        push    dword .nowhere
        AT
        iretd
        R3_EXPECT 'iret from CPL3 to a CPL0 selector', 13, SEL_CODE32

        ; conforming code: called from CPL3 it runs at CPL3
        mov     dword [conf_cs], 0
        R3_TRY
        call    (SEL_CONFORMING | 3):conf_target
        R3_NOFAULT 'call to conforming code from CPL3'
        CHECK32M dword [conf_cs], 0xFFFF, SEL_CONFORMING | 3, 'conforming code: CS (RPL = CPL 3)'
        CHECK32M dword [conf_ss], 0xFFFF, SEL_DATA32_R3, 'conforming code: SS (no stack switch)'

; ---- privileged instructions at CPL3: #GP(0) --------------------------------------------------
%macro R3_GP0 2+
        R3_TRY
        AT
        %2
        R3_EXPECT %1, 13, 0
%endmacro
        R3_GP0  'hlt at CPL3', hlt
        R3_GP0  'lgdt at CPL3', lgdt [pm_gdtr]
        R3_GP0  'lidt at CPL3', lidt [pm_idtr32]
        R3_GP0  'lldt at CPL3', lldt ax
        R3_GP0  'ltr at CPL3', ltr ax
        R3_GP0  'mov eax, cr0 at CPL3', mov eax, cr0
        R3_GP0  'mov cr0, eax at CPL3', mov cr0, eax
        R3_GP0  'mov cr3, eax at CPL3', mov cr3, eax
        R3_GP0  'mov eax, dr7 at CPL3', mov eax, dr7
        R3_GP0  'clts at CPL3', clts
        R3_GP0  'invd at CPL3', invd
        R3_GP0  'wbinvd at CPL3', wbinvd
        R3_GP0  'invlpg at CPL3', invlpg [0x1000]
        R3_GP0  'rdmsr at CPL3', rdmsr
        R3_GP0  'wrmsr at CPL3', wrmsr
        R3_GP0  'cli at CPL3, IOPL 0', cli
        R3_GP0  'sti at CPL3, IOPL 0', sti
        R3_GP0  'in al, 80h at CPL3 (bitmap denies)', in al, 0x80
        R3_GP0  'out 80h, al at CPL3 (bitmap denies)', out 0x80, al
        R3_GP0  'in ax, e8h at CPL3 (bitmap denies e8h)', in ax, 0xE8
        R3_TRY
        mov     dx, 0x3F8                       ; past the bitmap's end (TSS limit)
        AT
        out     dx, al
        R3_EXPECT 'out dx (3f8h) at CPL3 (past the TSS limit)', 13, 0

        ; port 0xE9 is allowed; POPF keeps IF and IOPL
        R3_TRY
        mov     al, 10
        out     0xE9, al                        ; an empty line on the console
        pushfd
        or      dword [esp], 0x3200             ; IOPL 3, IF
        popfd
        pushfd
        pop     dword [r3_flags]
        R3_NOFAULT 'out e9h and popf at CPL3, IOPL 0'
        CHECK32M dword [r3_flags], 0x3200, 0, 'popf at CPL3, IOPL 0: IF and IOPL unchanged'

        ; IOPL 3: CLI/STI and any port work, POPF changes IF but not IOPL
        R3_TRY  0x3002
        sti
        pushfd
        pop     dword [r3_flags]
        cli
        in      al, 0x80
        mov     dx, 0x3F8 + 7                   ; the UART scratch register
        in      al, dx
        pushfd
        and     dword [esp], ~0x3000            ; try IOPL 0
        or      dword [esp], 0x200              ; IF 1
        popfd
        pushfd
        pop     dword [r3_flags2]
        cli
        R3_NOFAULT 'cli/sti/in at CPL3 with IOPL 3'
        CHECK32M dword [r3_flags], 0x3200, 0x3200, 'sti at CPL3, IOPL 3: IF set'
        CHECK32M dword [r3_flags2], 0x3200, 0x3200, 'popf at CPL3, IOPL 3: IF set, IOPL kept'

        R3_GP0  'hlt at CPL3 with IOPL 3 is still privileged', hlt

        FINISH32
.nowhere:
        FAIL32  'reached a CPL0 target from CPL3'
        FINISH32

; ---- ring-0 gate targets (entered from ring 3; DS is the ring-3 flat data segment) ---------
gate32_target:
        mov     [g_esp], esp
        mov     [g_ss], ss
        mov     word [g_ss + 2], 0
        mov     [g_cs], cs
        mov     word [g_cs + 2], 0
        mov     eax, [esp]
        mov     [g_frame], eax
        mov     eax, [esp + 4]
        mov     [g_frame + 4], eax
        mov     eax, [esp + 8]
        mov     [g_frame + 8], eax
        mov     eax, [esp + 12]
        mov     [g_frame + 12], eax
        mov     eax, [esp + 16]
        mov     [g_frame + 16], eax
        mov     eax, [esp + 20]
        mov     [g_frame + 20], eax
        mov     eax, [esp + 24]
        mov     [g_frame + 24], eax
        mov     ax, SEL_DATA32                  ; DPL0 in DS: RETF to CPL3 nulls it
        mov     ds, ax
        retf    12

gate16_target:
        mov     [g_esp], esp
        mov     eax, [esp]
        mov     [g_frame], eax
        mov     eax, [esp + 4]
        mov     [g_frame + 4], eax
        mov     eax, [esp + 8]
        mov     [g_frame + 8], eax
        o16 retf 4

conf_target:
        mov     [ss:conf_cs], cs
        mov     [ss:conf_ss], ss
        retf
