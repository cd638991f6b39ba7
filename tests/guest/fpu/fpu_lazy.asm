; Lazy x87 context switching and x87 exception delivery, the way an operating
; system uses them (SDM Vol. 3 §2.5 Table 2-2, §13.4 / §6.15 "Interrupt 7",
; "Interrupt 16"; Vol. 1 §8.6, §8.1.10):
;   - with CR0.TS set, the first x87 instruction raises #NM; the handler clears TS
;     (CLTS), saves the previous owner's x87 context with FNSAVE, loads the running
;     task's with FRSTOR and returns to the faulting instruction, which then runs on
;     the right registers; two contexts are switched back and forth;
;   - WAIT/FWAIT raises #NM only when CR0.MP is set too; CR0.EM makes x87
;     instructions raise #NM;
;   - with CR0.NE set, an unmasked x87 exception is taken as #MF (vector 16) at the
;     next waiting instruction (FWAIT, or an x87 instruction other than the FN*
;     forms), not at the instruction that caused it; the handler sees FSW with the
;     flag, ES and B, and FIP/FOP naming the instruction that caused it;
;   - #NM is checked before a pending #MF.
; Expected values follow from the SDM's definitions (FSAVE real-mode layout,
; Figure 8-11 .. 8-12; FSW bits, Figure 8-4).

%define TEST_NAME 'fpu_lazy'
        org     0x7C00
%include "common.inc"
%include "x87.inc"

absolute 0x0600
nm_count:   resw 1
mf_count:   resw 1
em_count:   resw 1
owner:      resw 1      ; save area of the context now in the x87 registers (0: none)
current:    resw 1      ; save area of the running "task"
mf_fsw:     resw 1      ; what the #MF handler saw
mf_fip:     resw 1
mf_fop:     resw 1
res:        resw 4
log_len:    resw 1
log:        resb 16     ; 'N' per #NM, 'M' per #MF, in order
env:        resb 14
section .text

ctxA equ 0x1000         ; FNSAVE areas, 94 bytes (16-bit real-mode layout)
ctxB equ 0x1100

main:
        INIT
        SET_VECTOR 7, nm_handler
        SET_VECTOR 16, mf_handler
        xor     ax, ax
        mov     [nm_count], ax
        mov     [mf_count], ax
        mov     [em_count], ax
        mov     [owner], ax
        mov     [log_len], ax
        ; CR0: NE = 1 (native #MF), MP = 1, EM = 0, TS = 0
        mov     eax, cr0
        or      eax, CR0_NE | CR0_MP
        and     eax, ~(CR0_EM | CR0_TS)
        mov     cr0, eax

        ; ---- two contexts: A holds 3 over 2, B holds 1 over pi -------------------------------
        fninit
        fild    word [two]
        fild    word [three]            ; A: ST0 = 3, ST1 = 2
        fnsave  [ctxA]                  ; (and FNINIT)
        fldpi
        fld1                            ; B: ST0 = 1, ST1 = pi
        fnsave  [ctxB]
        EXPECTW [ctxA + 2], 0x3000, 'A saved: FSW with TOP = 6'
        EXPECTW [ctxA + 4], 0x0FFF, 'A saved: tags R6, R7 valid'

        ; ---- task A runs: its first x87 instruction faults, the handler loads A ----------------
        mov     word [current], ctxA
        call    set_ts
        fadd    st0, st1                ; #NM; then ST0 = 3 + 2
        EXPECTW [nm_count], 1, '#NM on the first x87 instruction with TS'
        EXPECTW [owner], ctxA, 'A owns the x87'
        smsw    ax
        and     ax, CR0_TS
        EXPECTW ax, 0, 'CLTS in the handler'
        fist    word [res]              ; no #NM now
        EXPECTW [res], 5, 'A: 3 + 2 on the restored registers'
        EXPECTW [nm_count], 1, 'no #NM with TS clear'

        ; ---- switch to B: the handler saves A, loads B ------------------------------------------
        mov     word [current], ctxB
        call    set_ts
        fmulp   st1, st0                ; #NM; then ST1 = pi * 1, pop
        EXPECTW [nm_count], 2, '#NM after the switch to B'
        EXPECTW [owner], ctxB, 'B owns the x87'
        EXPECTW [ctxA + 2], 0x3000, 'A saved again: TOP = 6'
        EXPECTW [ctxA + 4], 0x0FFF, 'A saved again: two registers'
        EXPECTD [ctxA + 18], 0xA0000000, 'A saved again: ST0 = 5.0 (significand)'
        EXPECTW [ctxA + 22], 0x4001, 'A saved again: ST0 = 5.0 (exponent)'
        fldpi
        fcompp                          ; pi * 1 == pi
        fnstsw  ax
        and     ax, FSW_C3 | FSW_C2 | FSW_C0
        EXPECTW ax, FSW_C3, 'B: pi * 1 equals pi'

        ; ---- back to A: B (now empty) is saved, A restored ------------------------------------
        mov     word [current], ctxA
        call    set_ts
        fistp   word [res + 2]          ; #NM; then 5
        fistp   word [res + 4]          ; 2
        EXPECTW [nm_count], 3, '#NM after the switch back to A'
        EXPECTW [res + 2], 5, 'A: ST0 kept across the switch'
        EXPECTW [res + 4], 2, 'A: ST1 kept across the switch'
        EXPECTW [ctxB + 4], 0xFFFF, 'B saved empty after FCOMPP'

        ; ---- WAIT: #NM only with MP and TS ----------------------------------------------------
        call    set_ts
        fwait                           ; MP = 1: #NM (A still owns the x87: only CLTS)
        EXPECTW [nm_count], 4, 'FWAIT with MP and TS raises #NM'
        mov     eax, cr0
        and     eax, ~CR0_MP
        or      eax, CR0_TS
        mov     cr0, eax
        fwait                           ; MP = 0: no #NM
        EXPECTW [nm_count], 4, 'FWAIT with TS but not MP'
        clts
        mov     eax, cr0
        or      eax, CR0_MP
        mov     cr0, eax

        ; ---- CR0.EM: every x87 instruction raises #NM ----------------------------------------
        SET_VECTOR 7, em_handler
        mov     eax, cr0
        or      eax, CR0_EM
        mov     cr0, eax
        fnstsw  ax                      ; even a non-waiting one
        EXPECTW [em_count], 1, '#NM with CR0.EM'
        SET_VECTOR 7, nm_handler

        ; ---- #MF at the next FWAIT ------------------------------------------------------------
        fninit
        fldcw   [cw_ze_unmasked]
        fld1
        fldz
fdiv_insn:
        fdivp   st1, st0                ; 1 / 0 with ZE unmasked: nothing written, ES set
        fnstsw  ax                      ; non-waiting: no #MF
        EXPECTW [mf_count], 0, 'no #MF at the faulting instruction or at FNSTSW'
        EXPECTW ax, FSW_B | 0x3000 | FSW_ES | FSW_ZE, 'FSW after the unmasked ZE'
        fwait                           ; #MF here
        EXPECTW [mf_count], 1, '#MF at FWAIT'
        EXPECTW [mf_fsw], FSW_B | 0x3000 | FSW_ES | FSW_ZE, '#MF handler: FSW (ZE, ES, B, TOP = 6)'
        EXPECTW [mf_fip], ABS(fdiv_insn), '#MF handler: FIP names the FDIVP'
        EXPECTW [mf_fop], ((0xDE & 7) << 8) | 0xF9, '#MF handler: FOP of FDIVP ST(1), ST(0)'
        fnstsw  ax
        EXPECTW ax, 0x3000, 'FNCLEX in the handler; FDIVP did not pop'

        ; ---- #MF at the next x87 instruction --------------------------------------------------
        fninit
        fldcw   [cw_ie_unmasked]
        fld1
        fchs
sqrt_insn:
        fsqrt                           ; sqrt(-1) with IE unmasked
        fld1                            ; #MF here; FLD1 runs after the handler returns
        EXPECTW [mf_count], 2, '#MF at the next x87 instruction'
        EXPECTW [mf_fsw], FSW_B | 0x3800 | FSW_ES | FSW_IE, '#MF handler: FSW (IE, ES, B, TOP = 7)'
        EXPECTW [mf_fip], ABS(sqrt_insn), '#MF handler: FIP names the FSQRT'
        EXPECTW [mf_fop], ((0xD9 & 7) << 8) | 0xFA, '#MF handler: FOP of FSQRT'
        fnstsw  ax
        EXPECTW ax, 0x3000, 'FLD1 ran after the handler (TOP = 6)'
        fistp   word [res + 6]
        EXPECTW [res + 6], 1, 'FLD1 pushed 1.0'

        ; ---- #NM comes before a pending #MF ---------------------------------------------------
        fninit
        fldcw   [cw_ie_unmasked]
        fld1
        fchs
        fsqrt                           ; pending IE
        mov     word [log_len], 0
        call    set_ts                  ; (A is still the owner and the current task)
        fld1                            ; #NM, then #MF, then it runs
        EXPECTW [log_len], 2, 'two exceptions on one instruction'
        EXPECTB [log], 'N', '#NM first'
        EXPECTB [log + 1], 'M', '#MF second'
        EXPECTW [nm_count], 5, '#NM count'
        EXPECTW [mf_count], 3, '#MF count'

        FINISH

; ---- helpers -------------------------------------------------------------------------------

set_ts:
        push    eax
        mov     eax, cr0
        or      eax, CR0_TS
        mov     cr0, eax
        pop     eax
        ret

; Appends AL to the exception log. Preserves everything.
log_char:
        push    bx
        mov     bx, [log_len]
        mov     [log + bx], al
        inc     word [log_len]
        pop     bx
        ret

; #NM: the lazy switch. CLTS; if the running task does not own the x87, save the
; owner's context and load the running task's.
nm_handler:
        push    ax
        push    bx
        push    ds
        xor     ax, ax
        mov     ds, ax
        inc     word [nm_count]
        mov     al, 'N'
        call    log_char
        clts
        mov     ax, [current]
        cmp     ax, [owner]
        je      .done
        mov     bx, [owner]
        test    bx, bx
        jz      .load
        fnsave  [bx]
.load:  mov     bx, ax
        frstor  [bx]
        mov     [owner], ax
.done:  pop     ds
        pop     bx
        pop     ax
        iret

; #NM with CR0.EM: clear EM (no emulator here) and retry.
em_handler:
        push    eax
        push    ds
        xor     ax, ax
        mov     ds, ax
        inc     word [em_count]
        mov     eax, cr0
        and     eax, ~CR0_EM
        mov     cr0, eax
        pop     ds
        pop     eax
        iret

; #MF: record FSW, FIP and FOP; FNSTENV masks everything, so put the program's
; control word back, then clear the exception and return to the waiting
; instruction, which runs again.
mf_handler:
        push    ax
        push    ds
        xor     ax, ax
        mov     ds, ax
        inc     word [mf_count]
        mov     al, 'M'
        call    log_char
        fnstsw  [mf_fsw]
        fnstenv [env]
        mov     ax, [env + 6]           ; FIP 15..0 (a linear address in real mode)
        mov     [mf_fip], ax
        mov     ax, [env + 8]           ; FIP 19..16 in bits 15..12, FOP in bits 10..0
        and     ax, 0x07FF
        mov     [mf_fop], ax
        fldcw   [env]
        fnclex
        pop     ds
        pop     ax
        iret

two:            dw 2
three:          dw 3
        X87_CONTROL_WORDS
