; exceptions_pm: gate flag handling, single-stepping, and exceptions raised
; while delivering another one (stack-switch failures, double faults).
;
; SDM Vol. 3 §6.12.1.3 (an interrupt gate clears IF, a trap gate does not;
; both clear TF, NT, RF, VM), §17.3.1.4 and Table 17-2 (single-step: a trap
; after each instruction that starts with TF = 1, not after the POPF that sets
; TF; DR6.BS set; the handler runs with TF = 0), §6.12.1 / Vol. 2 INT n
; (INTER-PRIVILEGE-LEVEL-INTERRUPT: a null TSS.SS0 -> #TS(EXT), an SS0 that
; is not a writable data segment -> #TS(SS0 + EXT); EXT = 1 for exceptions,
; 0 for INT n), §6.15 Table 6-5 (contributory then contributory -> #DF,
; page fault then contributory or page fault -> #DF, contributory then page
; fault -> handled serially; #DF pushes error code 0), §6.12.2 (exceptions
; through task gates; the error code goes on the new task's stack; a fault
; saves the faulting EIP in the old TSS).
;
; Handler tasks (32-bit TSSs, entered through IDT task gates): TS (vector 10),
; DF (vector 8), PF (vector 14 in the last case). Each records what it finds,
; repairs TSS.SS0, and either IRETs to the faulting instruction (TS) or sends
; the interrupted task to a recovery point by rewriting its saved state.

%define TEST_NAME 'exceptions_pm'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
ts_count:       resd 1
ts_err:         resd 1
ts_link:        resd 1
ts_eip:         resd 1
ts_cs:          resd 1
df_count:       resd 1
df_err:         resd 1
df_link:        resd 1
pf_count:       resd 1
pf_err:         resd 1
pf_cr2:         resd 1
redir_eip:      resd 1
redir_esp:      resd 1
dr6_val:        resd 1
section .text

SEL_TSS_DF      equ 0x80
SEL_TSS_TS      equ 0x88
SEL_TSS_PF      equ 0x90
TSS_DF          equ 0x3100
TSS_TS          equ 0x3200
TSS_PF          equ 0x3300
PD              equ 0x20000
PT0             equ 0x21000
BAD_PAGE        equ 0x300000        ; not present: a stack top at 0x301000 cannot be pushed to
NP_PAGE         equ 0x302000        ; not present
EF_TF           equ 0x100
EF_IF           equ 0x200

%macro TSS32 3                          ; base, eip, esp
        mov     dword [(%1) + 0x1C], PD         ; CR3
        mov     dword [(%1) + 0x20], %2
        mov     dword [(%1) + 0x24], 2
        mov     dword [(%1) + 0x38], %3
        mov     dword [(%1) + 0x48], SEL_DATA32
        mov     dword [(%1) + 0x4C], SEL_CODE32
        mov     dword [(%1) + 0x50], SEL_DATA32
        mov     dword [(%1) + 0x54], SEL_DATA32
        mov     dword [(%1) + 0x58], SEL_DATA32
        mov     dword [(%1) + 0x5C], SEL_DATA32
        mov     word [(%1) + 0x66], 0x68
%endmacro

; REDIRECT label: a handler task will send this task to label with the current ESP.
%macro REDIRECT 1
        mov     dword [redir_eip], %1
        mov     [redir_esp], esp
%endmacro

main:
        INIT
        call    pm_setup
        SETDESC SEL_TSS_DF, TSS_DF, 0x67, ACC_TSS32, 0
        SETDESC SEL_TSS_TS, TSS_TS, 0x67, ACC_TSS32, 0
        SETDESC SEL_TSS_PF, TSS_PF, 0x67, ACC_TSS32, 0
        ENTER_PM32
        PM_CLEAR_TEST_VARS
        mov     edi, TSS_DF
        mov     ecx, 0x300 / 4
        rep stosd
        TSS32   TSS_DF, task_df, 0x6800
        TSS32   TSS_TS, task_ts, 0x6C00
        TSS32   TSS_PF, task_pf, 0x6F00
        mov     dword [TSS_BASE + 0x1C], PD     ; the main task's CR3 (loaded when it is resumed)

; ---- interrupt gate vs trap gate -------------------------------------------------------------
        ARM_SKIP 0
        sti                                     ; (no interrupt sources are programmed)
        int     0x40
        cli
        CHECK32 dword [exc_count], 1, 'int 40h (interrupt gate) count'
        CHECK32M dword [exc_heflags], EF_IF, 0, 'interrupt gate: IF cleared in the handler'
        CHECK32M dword [exc_eflags], EF_IF, EF_IF, 'interrupt gate: pushed EFLAGS.IF'
        SETIDT_STUB 0x42, GATE_TRAP32
        ARM_SKIP 0
        sti
        int     0x42
        cli
        CHECK32 dword [exc_count], 1, 'int 42h (trap gate) count'
        CHECK32M dword [exc_heflags], EF_IF, EF_IF, 'trap gate: IF kept in the handler'
        DISARM

; ---- single-step ---------------------------------------------------------------------------------
        xor     eax, eax
        mov     dr6, eax
        ARM_SKIP 0
        pushfd
        or      dword [esp], EF_TF
        popfd                                   ; sets TF: no trap after this one
        nop                                     ; trap 1
        mov     ebx, [exc_eflags]               ; trap 2 (EBX = the EFLAGS image of trap 1)
        nop                                     ; trap 3
        pushfd                                  ; trap 4
        and     dword [esp], ~EF_TF             ; trap 5
        popfd                                   ; trap 6 (TF was set when it started)
.ss_end:
        DISARM
        CHECK32 dword [exc_count], 6, 'single-step: number of traps'
        CHECK32 dword [exc_vec], 1, 'single-step: vector'
        CHECK32 dword [exc_eip], .ss_end, 'single-step: last trap EIP (after the POPF clearing TF)'
        CHECK32M dword [exc_heflags], EF_TF, 0, 'single-step: TF clear in the handler'
        CHECK32M ebx, EF_TF, EF_TF, 'single-step: pushed EFLAGS.TF (trap 1)'
        CHECK32M dword [exc_eflags], EF_TF, 0, 'single-step: pushed EFLAGS.TF clear after the POPF clearing it'
        mov     eax, dr6
        mov     [dr6_val], eax
        CHECK32M dword [dr6_val], 0x4000, 0x4000, 'single-step: DR6.BS'

; ---- #TS on a bad TSS.SS0, through a task gate --------------------------------------------------
        SETIDT  10, SEL_TSS_TS, 0, GATE_TASK
        SETIDT_STUB 0x40, GATE_INT32 | GATE_DPL3
        mov     dword [TSS_BASE + 8], 0         ; SS0 = null
        TRY
        ENTER_RING3 .r3a, .r3a_back
.r3a:   RING3_ENTRY
.r3a_int:
        int     0x40                            ; #TS(0) -> task TS fixes SS0 -> again: vector 40h
.r3a_after:
        RING3_EXIT
.r3a_back:
        EXPECT_EXC_EIP 'int 40h from ring 3 after TS repaired SS0', 0x40, -1, .r3a_after
        CHECK32 dword [ts_count], 1, 'null SS0: #TS task ran once'
        CHECK32 dword [ts_err], 0, 'null SS0, INT n: #TS error code (EXT = 0)'
        CHECK32 dword [ts_link], SEL_TSS, 'null SS0: TS task link'
        CHECK32M dword [ts_cs], 0xFFFF, SEL_CODE32_R3, 'null SS0: saved CS (ring 3)'
        CHECK32 dword [ts_eip], .r3a_int, 'null SS0: saved EIP = the INT instruction (a fault)'

        mov     dword [TSS_BASE + 8], SEL_CODE32        ; SS0 = a code segment
        TRY
        ENTER_RING3 .r3b, .r3b_back
.r3b:   RING3_ENTRY
        AT
        ud2                                     ; #UD -> #TS(08h + EXT) -> repaired -> #UD
        RING3_EXIT
.r3b_back:
        EXPECT_EXC 'ud2 in ring 3 after TS repaired SS0', 6, -1
        CHECK32 dword [ts_count], 2, 'code-segment SS0: #TS task ran'
        CHECK32 dword [ts_err], SEL_CODE32 | 1, 'code-segment SS0, #UD: #TS error code (EXT = 1)'
        SETIDT_STUB 10, GATE_INT32

; ---- #TS while delivering #TS: double fault, through a task gate -------------------------------
        SETIDT  8, SEL_TSS_DF, 0, GATE_TASK
        mov     dword [TSS_BASE + 8], 0
        REDIRECT .df1_back
        ARM_RESUME .df1_exc
        ENTER_RING3 .r3c, .df1_exc
.r3c:   RING3_ENTRY
        int     0x40                            ; #TS -> #TS delivering it -> #DF
        RING3_EXIT
.df1_exc:
        FAIL32  'null SS0 with a normal #TS gate: no double fault'
.df1_back:
        DISARM
        CHECK32 dword [df_count], 1, '#TS + #TS: DF task ran'
        CHECK32 dword [df_err], 0, '#TS + #TS: #DF error code'
        CHECK32 dword [df_link], SEL_TSS, '#TS + #TS: DF task link'
        CHECK32 dword [TSS_BASE + 8], SEL_DATA32, 'DF task repaired SS0'

; ---- paging on: #PF-related double faults ------------------------------------------------------
        cld
        mov     edi, PT0
        mov     eax, 7
        mov     ecx, 1024
.pt:    stosd
        add     eax, 0x1000
        dec     ecx
        jnz     .pt
        mov     dword [PT0 + (BAD_PAGE >> 12) * 4], 0
        mov     dword [PT0 + (NP_PAGE >> 12) * 4], 0
        mov     dword [PD], PT0 | 7
        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax

        ; #PF whose gate names a selector past the GDT limit: #GP while delivering #PF -> #DF
        mov     word [IDT_BASE + 14 * 8 + 2], 0x800
        REDIRECT .df2_back
        ARM_RESUME .df2_exc
        mov     eax, [NP_PAGE]
.df2_exc:
        FAIL32  '#PF with a bad gate selector: no double fault'
.df2_back:
        DISARM
        mov     word [IDT_BASE + 14 * 8 + 2], SEL_CODE32
        CHECK32 dword [df_count], 2, '#PF + #GP: DF task ran'
        CHECK32 dword [df_err], 0, '#PF + #GP: #DF error code'

        ; #PF with the stack in a not-present page: #PF while delivering #PF -> #DF
        REDIRECT .df3_back
        ARM_RESUME .df3_exc
        mov     esp, BAD_PAGE + 0x1000
        mov     eax, [NP_PAGE]
.df3_exc:
        FAIL32  '#PF with a not-present stack: no double fault'
.df3_back:
        DISARM
        CHECK32 dword [df_count], 3, '#PF + #PF: DF task ran'
        CHECK32 dword [df_err], 0, '#PF + #PF: #DF error code'

        ; #DE with the stack in a not-present page: #PF while delivering #DE is handled
        ; serially (no #DF): the PF task gets the page fault of the push
        SETIDT  14, SEL_TSS_PF, 0, GATE_TASK
        REDIRECT .pf_back
        ARM_RESUME .pf_exc
        xor     ecx, ecx
        xor     edx, edx
        mov     eax, 1
        mov     esp, BAD_PAGE + 0x1000
        div     ecx
.pf_exc:
        FAIL32  '#DE with a not-present stack: no page fault'
.pf_back:
        DISARM
        CHECK32 dword [pf_count], 1, '#DE + #PF: PF task ran'
        CHECK32 dword [df_count], 3, '#DE + #PF: no double fault'
        CHECK32 dword [pf_err], 2, '#DE + #PF: error code (supervisor write, not present)'
        CHECK32M dword [pf_cr2], 0xFFFFF000, BAD_PAGE, '#DE + #PF: CR2 in the stack page'
        SETIDT_STUB 14, GATE_INT32

        FINISH32

; ---- handler tasks ----------------------------------------------------------------------------
; TS: record, repair SS0, return to the faulting instruction.
task_ts:
        inc     dword [ts_count]
        mov     eax, [esp]
        mov     [ts_err], eax
        movzx   eax, word [TSS_TS]
        mov     [ts_link], eax
        mov     eax, [TSS_BASE + 0x20]
        mov     [ts_eip], eax
        mov     eax, [TSS_BASE + 0x4C]
        mov     [ts_cs], eax
        mov     dword [TSS_BASE + 8], SEL_DATA32
        add     esp, 4
        iretd
        jmp     task_ts

; Sends the interrupted (main) task to redir_eip in ring 0 with redir_esp.
redirect_main:
        mov     eax, [redir_eip]
        mov     [TSS_BASE + 0x20], eax
        mov     dword [TSS_BASE + 0x24], 2
        mov     eax, [redir_esp]
        mov     [TSS_BASE + 0x38], eax
        mov     dword [TSS_BASE + 0x4C], SEL_CODE32
        mov     dword [TSS_BASE + 0x50], SEL_DATA32
        mov     dword [TSS_BASE + 0x54], SEL_DATA32
        mov     dword [TSS_BASE + 0x48], SEL_DATA32
        ret

; DF: record, repair SS0, redirect.
task_df:
        inc     dword [df_count]
        mov     eax, [esp]
        mov     [df_err], eax
        movzx   eax, word [TSS_DF]
        mov     [df_link], eax
        mov     dword [TSS_BASE + 8], SEL_DATA32
        add     esp, 4
        call    redirect_main
        iretd
        jmp     task_df

; PF: record error code and CR2, redirect.
task_pf:
        inc     dword [pf_count]
        mov     eax, [esp]
        mov     [pf_err], eax
        mov     eax, cr2
        mov     [pf_cr2], eax
        add     esp, 4
        call    redirect_main
        iretd
        jmp     task_pf
