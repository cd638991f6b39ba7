; task_switch: hardware task switches (SDM Vol. 3 chapter 7).
;
; §7.3 (the switch: the current state is saved in the old TSS - EIP of the
; next instruction, or of the faulting one for a fault, general registers,
; segment selectors, EFLAGS - and the new task's state loaded; TR changes;
; CR0.TS is set), Table 7-2 (busy, NT, previous-task link:
;   JMP:           new busy set, old busy cleared, NT from the new TSS, link unchanged;
;   CALL / INT n:  new busy set, old busy kept, NT = 1, new TSS link = old TSS selector;
;   IRET (NT = 1): old busy cleared, NT of the old task's saved EFLAGS cleared),
; §7.4 (task gates in the GDT and the IDT), §6.12.2 (an exception through a
; task gate pushes its error code on the new task's stack), §7.6 / Figure 7-11
; (16-bit TSS layout), LTR of a busy TSS -> #GP(selector).
;
; Tasks: MAIN (the 32-bit TSS in TR), B (JMP there and JMP back), C (CALL
; through a GDT task gate and INT 50h through an IDT task gate, IRET back), D
; (#GP through an IDT task gate; fixes MAIN's saved EIP and IRETs back), E (a
; 16-bit TSS running 16-bit code, CALLed, IRET back).

%define TEST_NAME 'task_switch'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
tb_regs:        resd 8              ; eax ecx edx ebx esp ebp esi edi as task B found them
tb_sregs:       resd 6              ; es cs ss ds fs gs
tb_tr:          resd 1
tb_eflags:      resd 1
tb_cr0:         resd 1
tb_main_type:   resd 1
tb_own_type:    resd 1
tb_link:        resd 1
tb_count:       resd 1
tc_eflags:      resd 1
tc_tr:          resd 1
tc_link:        resd 1
tc_type:        resd 1
tc_main_type:   resd 1
tc_count:       resd 1
tc_cr0:         resd 1
tc_main_eip:    resd 1          ; main's saved EIP as task C found it
tc_fix_eip:     resd 1          ; if nonzero, task C makes main resume there (a broken EIP would loop)
td_err:         resd 1
td_esp:         resd 1
td_link:        resd 1
td_main_eip:    resd 1
td_count:       resd 1
te_ax:          resd 1
te_flags:       resd 1
te_tr:          resd 1
te_link:        resd 1
te_type:        resd 1
te_count:       resd 1
main_eflags:    resd 1
main_fs:        resd 1
main_gs:        resd 1
section .text

SEL_TSS_B       equ 0x80
SEL_TSS_C       equ 0x88
SEL_TGATE_C     equ 0x90            ; GDT task gate -> TSS C
SEL_TSS_D       equ 0x98
SEL_TSS_E       equ 0xA0            ; 16-bit TSS
TSS_B           equ 0x3100
TSS_C           equ 0x3200
TSS_D           equ 0x3300
TSS_E           equ 0x3400
TSS_TYPE_MASK   equ 0x0F
VEC_TASK_C      equ 0x50
EF_NT           equ 0x4000

; TSS32 base, eip, esp, eax: a 32-bit TSS with flat ring-0 segments.
%macro TSS32 4
        mov     dword [(%1) + 0x20], %2         ; EIP
        mov     dword [(%1) + 0x24], 2          ; EFLAGS
        mov     dword [(%1) + 0x28], %4         ; EAX
        mov     dword [(%1) + 0x2C], 0xC1C1C1C1 ; ECX
        mov     dword [(%1) + 0x30], 0xD1D1D1D1 ; EDX
        mov     dword [(%1) + 0x34], 0xB1B1B1B1 ; EBX
        mov     dword [(%1) + 0x38], %3         ; ESP
        mov     dword [(%1) + 0x3C], 0xB2B2B2B2 ; EBP
        mov     dword [(%1) + 0x40], 0x51515151 ; ESI
        mov     dword [(%1) + 0x44], 0xD2D2D2D2 ; EDI
        mov     dword [(%1) + 0x48], SEL_DATA32 ; ES
        mov     dword [(%1) + 0x4C], SEL_CODE32 ; CS
        mov     dword [(%1) + 0x50], SEL_DATA32 ; SS
        mov     dword [(%1) + 0x54], SEL_DATA32 ; DS
        mov     dword [(%1) + 0x58], SEL_DATA32 ; FS
        mov     dword [(%1) + 0x5C], SEL_DATA32 ; GS
        mov     word [(%1) + 0x66], 0x68        ; I/O map base = the limit + 1: no bitmap
%endmacro

%macro TSS_TYPE 2                       ; name, selector: GDT type nibble into EAX
        movzx   eax, byte [GDT_BASE + (%2) + 5]
        and     eax, TSS_TYPE_MASK
%endmacro

main:
        INIT
        call    pm_setup
        SETDESC SEL_TSS_B, TSS_B, 0x67, ACC_TSS32, 0
        SETDESC SEL_TSS_C, TSS_C, 0x67, ACC_TSS32, 0
        SETGATE_AT GDT_BASE + SEL_TGATE_C, SEL_TSS_C, 0, GATE_TASK, 0
        SETDESC SEL_TSS_D, TSS_D, 0x67, ACC_TSS32, 0
        SETDESC SEL_TSS_E, TSS_E, 0x2B, ACC_TSS16, 0
        ENTER_PM32
        PM_CLEAR_TEST_VARS
        mov     edi, TSS_B
        mov     ecx, 0x400 / 4
        rep stosd
        TSS32   TSS_B, task_b_entry, 0x6800, 0xA0A0A0A0
        TSS32   TSS_C, task_c_entry, 0x6C00, 0
        TSS32   TSS_D, task_d_entry, 0x6400, 0
        ; 16-bit TSS E (Figure 7-11): IP 0Eh, FLAGS 10h, AX 12h, SP 1Ah, ES 22h, CS 24h, SS 26h, DS 28h
        mov     word [TSS_E + 0x0E], task_e_entry16
        mov     word [TSS_E + 0x10], 2
        mov     word [TSS_E + 0x12], 0xE0E0
        mov     word [TSS_E + 0x1A], 0x6E00
        mov     word [TSS_E + 0x22], SEL_DATA16
        mov     word [TSS_E + 0x24], SEL_CODE16
        mov     word [TSS_E + 0x26], SEL_DATA16
        mov     word [TSS_E + 0x28], SEL_DATA16
        SETIDT  VEC_TASK_C, SEL_TSS_C, 0, GATE_TASK
        SETIDT  13, SEL_TSS_D, 0, GATE_TASK

; ---- JMP to task B and back ------------------------------------------------------------------
        TSS_TYPE 'main', SEL_TSS
        CHECK32 eax, 0xB, 'main TSS busy after LTR'
        mov     ax, SEL_DATA16
        mov     fs, ax
        mov     ax, SEL_DATA32_R3
        mov     gs, ax
        mov     eax, 0x0A0A0A0A
        mov     ebx, 0x0B0B0B0B
        mov     ecx, 0x0C0C0C0C
        mov     edx, 0x0D0D0D0D
        mov     esi, 0x05050505
        mov     edi, 0x0D1D1D1D
        mov     ebp, 0x0B9B9B9B
        mov     [pm_scratch], esp
        jmp     SEL_TSS_B:0
.after_jmp:
        CHECK32 eax, 0x0A0A0A0A, 'back from B: EAX'
        CHECK32 ebx, 0x0B0B0B0B, 'back from B: EBX'
        CHECK32 ecx, 0x0C0C0C0C, 'back from B: ECX'
        CHECK32 edx, 0x0D0D0D0D, 'back from B: EDX'
        CHECK32 esi, 0x05050505, 'back from B: ESI'
        CHECK32 edi, 0x0D1D1D1D, 'back from B: EDI'
        CHECK32 ebp, 0x0B9B9B9B, 'back from B: EBP'
        mov     eax, esp
        CHECK32 eax, [pm_scratch], 'back from B: ESP'
        mov     [main_fs], fs
        mov     [main_gs], gs
        CHECK32M dword [main_fs], 0xFFFF, SEL_DATA16, 'back from B: FS'
        CHECK32M dword [main_gs], 0xFFFF, SEL_DATA32_R3, 'back from B: GS'
        CHECK32 dword [tb_count], 1, 'task B ran once'
        CHECK32 dword [tb_regs + 0], 0xA0A0A0A0, 'task B: EAX from its TSS'
        CHECK32 dword [tb_regs + 4], 0xC1C1C1C1, 'task B: ECX from its TSS'
        CHECK32 dword [tb_regs + 12], 0xB1B1B1B1, 'task B: EBX from its TSS'
        CHECK32 dword [tb_regs + 16], 0x6800, 'task B: ESP from its TSS'
        CHECK32 dword [tb_regs + 24], 0x51515151, 'task B: ESI from its TSS'
        CHECK32 dword [tb_regs + 28], 0xD2D2D2D2, 'task B: EDI from its TSS'
        CHECK32M dword [tb_sregs + 4], 0xFFFF, SEL_CODE32, 'task B: CS'
        CHECK32M dword [tb_tr], 0xFFFF, SEL_TSS_B, 'task B: TR'
        CHECK32M dword [tb_eflags], EF_NT, 0, 'task B: NT clear after JMP'
        CHECK32M dword [tb_cr0], CR0_TS, CR0_TS, 'task B: CR0.TS set by the switch'
        CHECK32 dword [tb_main_type], 0x9, 'task B: main TSS available after JMP away'
        CHECK32 dword [tb_own_type], 0xB, 'task B: own TSS busy'
        CHECK32 dword [tb_link], 0, 'task B: previous-task link untouched by JMP'
        ; MAIN's TSS holds the state saved by the JMP
        CHECK32 dword [TSS_BASE + 0x20], .after_jmp, 'main TSS: saved EIP (next instruction)'
        CHECK32 dword [TSS_BASE + 0x28], 0x0A0A0A0A, 'main TSS: saved EAX'
        CHECK32 dword [TSS_BASE + 0x34], 0x0B0B0B0B, 'main TSS: saved EBX'
        CHECK32 dword [TSS_BASE + 0x38], [pm_scratch], 'main TSS: saved ESP'
        CHECK32 dword [TSS_BASE + 0x3C], 0x0B9B9B9B, 'main TSS: saved EBP'
        CHECK32 dword [TSS_BASE + 0x44], 0x0D1D1D1D, 'main TSS: saved EDI'
        CHECK32M dword [TSS_BASE + 0x4C], 0xFFFF, SEL_CODE32, 'main TSS: saved CS'
        CHECK32M dword [TSS_BASE + 0x58], 0xFFFF, SEL_DATA16, 'main TSS: saved FS'
        CHECK32M dword [TSS_BASE + 0x5C], 0xFFFF, SEL_DATA32_R3, 'main TSS: saved GS'
        CHECK32M dword [TSS_BASE + 0x24], EF_NT | 2, 2, 'main TSS: saved EFLAGS'
        CHECK32 dword [TSS_B + 0x20], task_b_entry.after, 'task B TSS: saved EIP'
        str     ax
        movzx   eax, ax
        CHECK32 eax, SEL_TSS, 'TR back to main'
        TSS_TYPE 'main', SEL_TSS
        CHECK32 eax, 0xB, 'main TSS busy again'
        TSS_TYPE 'B', SEL_TSS_B
        CHECK32 eax, 0x9, 'task B TSS available after JMP back'
        mov     eax, cr0
        CHECK32M eax, CR0_TS, CR0_TS, 'CR0.TS set after the switch back'
        clts

; ---- CALL through a GDT task gate to task C, IRET back ---------------------------------------
        mov     ax, SEL_DATA32
        mov     fs, ax
        mov     gs, ax
        mov     ebx, 0x12345678
        call    SEL_TGATE_C:0
.after_call:
        CHECK32 ebx, 0x12345678, 'back from C: EBX'
        CHECK32 dword [tc_count], 1, 'task C ran once'
        CHECK32M dword [tc_eflags], EF_NT, EF_NT, 'task C (CALL): NT set'
        CHECK32 dword [tc_tr], SEL_TSS_C, 'task C (CALL): TR'
        CHECK32 dword [tc_link], SEL_TSS, 'task C (CALL): previous-task link = main'
        CHECK32 dword [tc_type], 0xB, 'task C (CALL): own TSS busy'
        CHECK32 dword [tc_main_type], 0xB, 'task C (CALL): main TSS still busy'
        CHECK32M dword [tc_cr0], CR0_TS, CR0_TS, 'task C (CALL): CR0.TS set'
        pushfd
        pop     dword [main_eflags]
        CHECK32M dword [main_eflags], EF_NT, 0, 'main after IRET from C: NT clear'
        TSS_TYPE 'C', SEL_TSS_C
        CHECK32 eax, 0x9, 'task C TSS available after IRET'
        TSS_TYPE 'main', SEL_TSS
        CHECK32 eax, 0xB, 'main TSS busy after IRET from C'
        CHECK32M dword [TSS_C + 0x24], EF_NT, 0, 'task C TSS: saved EFLAGS.NT cleared by IRET'
        CHECK32 dword [tc_main_eip], .after_call, 'main TSS: saved EIP (after CALL)'
        str     ax
        movzx   eax, ax
        CHECK32 eax, SEL_TSS, 'TR back to main after IRET'
        clts

; ---- INT 50h through an IDT task gate to task C ---------------------------------------------
        mov     dword [tc_link], 0
        mov     dword [tc_fix_eip], .after_int
        int     VEC_TASK_C
.after_int:
        mov     dword [tc_fix_eip], 0
        CHECK32 dword [tc_count], 2, 'task C ran again (INT 50h)'
        CHECK32M dword [tc_eflags], EF_NT, EF_NT, 'task C (INT): NT set'
        CHECK32 dword [tc_link], SEL_TSS, 'task C (INT): previous-task link = main'
        CHECK32 dword [tc_type], 0xB, 'task C (INT): own TSS busy'
        CHECK32 dword [tc_main_type], 0xB, 'task C (INT): main TSS still busy'
        CHECK32 dword [tc_main_eip], .after_int, 'main TSS: saved EIP (after INT 50h)'
        TSS_TYPE 'C', SEL_TSS_C
        CHECK32 eax, 0x9, 'task C TSS available after the second IRET'
        clts

; ---- #GP through an IDT task gate to task D ---------------------------------------------------
        mov     ax, 0x800
.gp_insn:
        mov     ds, ax                          ; #GP(0x800): task D, which skips these 2 bytes
        mov     ax, SEL_DATA32
        mov     ds, ax
        CHECK32 dword [td_count], 1, 'task D (#GP) ran once'
        CHECK32 dword [td_err], 0x800, 'task D: error code on its stack'
        CHECK32 dword [td_esp], 0x6400 - 4, 'task D: ESP (TSS ESP minus the error code)'
        CHECK32 dword [td_link], SEL_TSS, 'task D: previous-task link = main'
        CHECK32 dword [td_main_eip], .gp_insn, 'task D: main TSS saved EIP = the faulting instruction'
        TSS_TYPE 'D', SEL_TSS_D
        CHECK32 eax, 0x9, 'task D TSS available after IRET'
        clts

; ---- CALL to the 16-bit TSS E ----------------------------------------------------------------
        call    SEL_TSS_E:0
        CHECK32 dword [te_count], 1, 'task E (16-bit TSS) ran once'
        CHECK32M dword [te_ax], 0xFFFF, 0xE0E0, 'task E: AX from its TSS'
        CHECK32M dword [te_flags], EF_NT, EF_NT, 'task E: NT set'
        CHECK32M dword [te_tr], 0xFFFF, SEL_TSS_E, 'task E: TR'
        CHECK32M dword [te_link], 0xFFFF, SEL_TSS, 'task E: previous-task link = main'
        CHECK32 dword [te_type], 0x3, 'task E: own 16-bit TSS busy (type 3)'
        TSS_TYPE 'E', SEL_TSS_E
        CHECK32 eax, 0x1, 'task E TSS available (type 1) after IRET'
        TSS_TYPE 'main', SEL_TSS
        CHECK32 eax, 0xB, 'main TSS busy after IRET from E'
        clts

; ---- LTR of a busy TSS ---------------------------------------------------------------------
        SETIDT_STUB 13, GATE_INT32
        TRY
        mov     ax, SEL_TSS
        AT
        ltr     ax
        EXPECT_EXC 'ltr of the busy main TSS', 13, SEL_TSS

        FINISH32

; ---- task B: record, JMP back to main ---------------------------------------------------------
task_b_entry:
        mov     [tb_regs + 0], eax
        mov     [tb_regs + 4], ecx
        mov     [tb_regs + 8], edx
        mov     [tb_regs + 12], ebx
        mov     [tb_regs + 16], esp
        mov     [tb_regs + 20], ebp
        mov     [tb_regs + 24], esi
        mov     [tb_regs + 28], edi
        mov     [tb_sregs + 4], cs
        str     word [tb_tr]
        pushfd
        pop     dword [tb_eflags]
        mov     eax, cr0
        mov     [tb_cr0], eax
        clts
        TSS_TYPE 'main', SEL_TSS
        mov     [tb_main_type], eax
        TSS_TYPE 'B', SEL_TSS_B
        mov     [tb_own_type], eax
        movzx   eax, word [TSS_B]
        mov     [tb_link], eax
        inc     dword [tb_count]
        jmp     SEL_TSS:0
.after: jmp     task_b_entry

; ---- task C: record, IRET (nested task return) -----------------------------------------------
task_c_entry:
        pushfd
        pop     dword [tc_eflags]
        str     ax
        movzx   eax, ax
        mov     [tc_tr], eax
        movzx   eax, word [TSS_C]
        mov     [tc_link], eax
        TSS_TYPE 'C', SEL_TSS_C
        mov     [tc_type], eax
        TSS_TYPE 'main', SEL_TSS
        mov     [tc_main_type], eax
        mov     eax, cr0
        mov     [tc_cr0], eax
        mov     eax, [TSS_BASE + 0x20]
        mov     [tc_main_eip], eax
        mov     eax, [tc_fix_eip]
        test    eax, eax
        jz      .nofix
        mov     [TSS_BASE + 0x20], eax
.nofix: clts
        inc     dword [tc_count]
        iretd
        jmp     task_c_entry

; ---- task D: #GP handler task ---------------------------------------------------------------
task_d_entry:
        mov     eax, [esp]
        mov     [td_err], eax
        mov     [td_esp], esp
        movzx   eax, word [TSS_D]
        mov     [td_link], eax
        mov     eax, [TSS_BASE + 0x20]
        mov     [td_main_eip], eax
        add     dword [TSS_BASE + 0x20], 2      ; resume main after its 2-byte MOV DS, AX
        inc     dword [td_count]
        add     esp, 4
        iretd
        jmp     task_d_entry

; ---- task E: 16-bit code in a 16-bit TSS ----------------------------------------------------
bits 16
task_e_entry16:
        mov     [te_ax], ax
        pushf
        pop     word [te_flags]
        str     word [te_tr]
        mov     ax, [TSS_E]
        mov     [te_link], ax
        movzx   eax, byte [GDT_BASE + SEL_TSS_E + 5]
        and     eax, TSS_TYPE_MASK
        mov     [te_type], eax
        inc     dword [te_count]
        iret
        jmp     task_e_entry16
bits 32
