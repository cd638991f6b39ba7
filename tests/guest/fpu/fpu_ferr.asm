; x87 errors in the MS-DOS compatibility mode (CR0.NE = 0), the way DOS-era
; software and BIOSes see them (SDM Vol. 1 §8.7 and Appendix D; 82371SB PIIX3
; data sheet, "Coprocessor Error"):
;   - an unmasked exception sets FSW.ES; at the next waiting x87 instruction the
;     processor asserts FERR# and freezes just before that instruction;
;   - the PC routes FERR# to IRQ 13 (slave 8259 input 5, vector 0x75 here): the
;     handler runs with the frozen instruction as its return address and sees FSW
;     with the flag, ES and B, and FIP naming the instruction that caused it;
;   - a write to port F0h clears the IRQ 13 latch and asserts IGNNE#; FNCLEX clears
;     ES, which drops FERR# (and IGNNE#); IRET returns to the waiting instruction,
;     which then runs;
;   - with IGNNE# asserted (port F0h written, ES left set), the frozen instruction
;     runs on with the error ignored, and no second IRQ 13 comes until FERR# drops
;     and rises again;
;   - no #MF (vector 16) is ever raised with CR0.NE = 0.

%define TEST_NAME 'fpu_ferr'
        org     0x7C00
%include "common.inc"
%include "x87.inc"

IRQ13_VECTOR equ 0x75   ; slave 8259 based at 0x70, as the PC BIOS programs it

absolute 0x0600
irq_count:  resw 1
irq_fsw:    resw 1      ; what the IRQ 13 handler saw
irq_fip:    resw 1
irq_fop:    resw 1
irq_ret:    resw 1      ; the return address it found on the stack
clear_mode: resw 1      ; 1: the handler also runs FNCLEX; 0: only port F0h
env:        resb 14
res:        resw 2
section .text

main:
        INIT
        SET_VECTOR IRQ13_VECTOR, irq13_handler
        xor     ax, ax
        mov     [irq_count], ax

        ; The 8259 pair as a PC BIOS sets it up: master at 0x08, slave at 0x70 on
        ; master input 2; only the cascade and IRQ 13 unmasked.
        mov     al, 0x11                ; ICW1: edge triggered, cascade, ICW4
        out     0x20, al
        out     0xA0, al
        mov     al, 0x08                ; ICW2: vector bases
        out     0x21, al
        mov     al, 0x70
        out     0xA1, al
        mov     al, 0x04                ; ICW3: slave on IR2 / slave id 2
        out     0x21, al
        mov     al, 0x02
        out     0xA1, al
        mov     al, 0x01                ; ICW4: 8086 mode
        out     0x21, al
        out     0xA1, al
        mov     al, 0xFB                ; OCW1: master: only IR2 (the slave)
        out     0x21, al
        mov     al, 0xDF                ; slave: only IR5 (IRQ 13)
        out     0xA1, al

        ; CR0: NE = 0 (MS-DOS compatibility mode), MP = 1, EM = TS = 0
        mov     eax, cr0
        and     eax, ~(CR0_NE | CR0_EM | CR0_TS)
        or      eax, CR0_MP
        mov     cr0, eax
        sti

        ; ---- the handler clears with port F0h and FNCLEX: the FWAIT then runs ---------------
        mov     word [clear_mode], 1
        fninit
        fldcw   [cw_ze_unmasked]
        fld1
        fldz
fdiv_insn:
        fdivp   st1, st0                ; 1 / 0, ZE unmasked: nothing written, ES set
        fnstsw  ax                      ; non-waiting: runs, no IRQ 13
        EXPECTW ax, FSW_B | 0x3000 | FSW_ES | FSW_ZE, 'FSW after the unmasked ZE'
fwait_insn:
        fwait                           ; frozen here; IRQ 13; then it runs
        EXPECTW [irq_count], 1, 'IRQ 13 at the FWAIT'
        EXPECTW [irq_ret], ABS(fwait_insn), 'IRQ 13 returns to the frozen FWAIT'
        EXPECTW [irq_fsw], FSW_B | 0x3000 | FSW_ES | FSW_ZE, 'IRQ 13 handler: FSW (ZE, ES, B, TOP = 6)'
        EXPECTW [irq_fip], ABS(fdiv_insn), 'IRQ 13 handler: FIP names the FDIVP'
        EXPECTW [irq_fop], ((0xDE & 7) << 8) | 0xF9, 'IRQ 13 handler: FOP of FDIVP ST(1), ST(0)'
        fnstsw  ax
        EXPECTW ax, 0x3000, 'FNCLEX in the handler; FDIVP did not pop'

        ; ---- a frozen x87 instruction (not FWAIT) runs after the handler ---------------------
        fninit
        fldcw   [cw_ie_unmasked]
        fld1
        fchs
sqrt_insn:
        fsqrt                           ; sqrt(-1), IE unmasked
fld_insn:
        fld1                            ; frozen; IRQ 13; then FLD1 runs
        EXPECTW [irq_count], 2, 'IRQ 13 at the next x87 instruction'
        EXPECTW [irq_ret], ABS(fld_insn), 'IRQ 13 returns to the frozen FLD1'
        EXPECTW [irq_fsw], FSW_B | 0x3800 | FSW_ES | FSW_IE, 'IRQ 13 handler: FSW (IE, ES, B, TOP = 7)'
        EXPECTW [irq_fip], ABS(sqrt_insn), 'IRQ 13 handler: FIP names the FSQRT'
        fnstsw  ax
        EXPECTW ax, 0x3000, 'FLD1 ran after the handler (TOP = 6)'
        fistp   word [res]
        EXPECTW [res], 1, 'FLD1 pushed 1.0'

        ; ---- the handler only writes port F0h: IGNNE# lets the instruction run --------------
        mov     word [clear_mode], 0
        fninit
        fldcw   [cw_ie_unmasked]
        fld1
        fchs
        fsqrt                           ; pending IE again
ign_insn:
        fld1                            ; frozen; IRQ 13; IGNNE#: runs with ES still set
        EXPECTW [irq_count], 3, 'IRQ 13 with the IGNNE# handler'
        EXPECTW [irq_ret], ABS(ign_insn), 'IRQ 13 returns to the frozen FLD1 (IGNNE#)'
        EXPECTW [irq_fsw], FSW_B | 0x3800 | FSW_ES | FSW_IE, 'IRQ 13 handler (IGNNE#): FSW'
        fnstsw  ax
        EXPECTW ax, FSW_B | 0x3000 | FSW_ES | FSW_IE, 'IGNNE#: FLD1 ran, ES still set'
        fld1                            ; still ignored: no freeze, no new IRQ 13
        fwait
        EXPECTW [irq_count], 3, 'no second IRQ 13 while FERR# stays asserted'
        fnstsw  ax
        EXPECTW ax, FSW_B | 0x2800 | FSW_ES | FSW_IE, 'IGNNE#: the second FLD1 ran too'
        fnclex                          ; ES clear: FERR# and IGNNE# drop
        fsqrt                           ; sqrt(1): no exception
        fwait
        EXPECTW [irq_count], 3, 'no IRQ 13 after FNCLEX'

        ; ---- FERR# again after IGNNE# dropped: frozen again ------------------------------------
        mov     word [clear_mode], 1
        fninit
        fldcw   [cw_ze_unmasked]
        fld1
        fldz
        fdivp   st1, st0
again_insn:
        fwait
        EXPECTW [irq_count], 4, 'IRQ 13 again once FERR# rose again'
        EXPECTW [irq_ret], ABS(again_insn), 'IRQ 13 returns to the frozen FWAIT again'
        fnstsw  ax
        EXPECTW ax, 0x3000, 'FNCLEX in the handler (second time)'

        cli
        FINISH

; ---- IRQ 13: clear the latch first (port F0h: IGNNE# is asserted, so the handler's
; own x87 instructions cannot freeze), record what the handler sees, EOI both
; 8259s; in clear_mode 1 also read the environment (FNSTENV masks everything, so
; the program's control word goes back with FLDCW) and clear the exception (FNCLEX).
irq13_handler:
        push    ax
        push    bx
        push    bp
        push    ds
        xor     ax, ax
        mov     ds, ax
        out     0xF0, al                ; clear IRQ 13, assert IGNNE#
        mov     bp, sp
        mov     bx, [bp + 8]            ; the return IP (above DS, BP, BX, AX)
        mov     [irq_ret], bx
        inc     word [irq_count]
        fnstsw  [irq_fsw]
        cmp     word [clear_mode], 0
        je      .eoi
        fnstenv [env]
        mov     ax, [env + 6]           ; FIP 15..0 (a linear address in real mode)
        mov     [irq_fip], ax
        mov     ax, [env + 8]           ; FIP 19..16 in bits 15..12, FOP in bits 10..0
        and     ax, 0x07FF
        mov     [irq_fop], ax
        fldcw   [env]
        fnclex
.eoi:   mov     al, 0x20
        out     0xA0, al                ; non-specific EOI, slave then master
        out     0x20, al
        pop     ds
        pop     bp
        pop     bx
        pop     ax
        iret

        X87_CONTROL_WORDS
