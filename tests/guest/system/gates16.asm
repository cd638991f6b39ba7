; gates16: 16-bit gates, 16-bit stacks, conforming handlers, expand-down stacks.
;
; SDM Vol. 3 §6.12.1 and Figure 6-4 (a 16-bit interrupt/trap gate pushes FLAGS,
; CS, IP - and SS, SP on a privilege change - as words, and the error code as a
; word), Vol. 2 IRET (a 16-bit IRET pops them back), §6.12.1.1 / §5.8.1.2 (an
; interrupt gate to a conforming code segment does not change CPL or stack:
; the handler runs at CPL 3 with CS.RPL = 3), Vol. 1 §6.2.3 / Vol. 3 §3.4.5
; (SS.B = 0: pushes use SP and leave ESP[31:16] alone; an expand-down stack
; segment allows offsets above its limit up to FFFFh (B = 0) or FFFFFFFFh
; (B = 1); a push below the limit from ring 3 -> #SS(0), ESP unchanged).

%define TEST_NAME 'gates16'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
h_sp:           resd 1
h_frame:        resw 6
h_count:        resd 1
h_cs:           resd 1
c_cs:           resd 1
c_esp:          resd 1
c_frame:        resd 3
v_esp:          resd 1
v_word:         resd 1
section .text

SEL_CONF        equ 0x80        ; conforming code DPL0, 32-bit, flat
SEL_STK16       equ 0x88        ; data DPL0 RW, base 0, limit FFFFh, B = 0
SEL_XDOWN3      equ 0x90        ; data DPL3 RW expand-down, limit 0FFFh, B = 1
SEL_XDOWN16     equ 0x98        ; data DPL0 RW expand-down, limit 0FFFh, B = 0
VEC16           equ 0x50        ; 16-bit interrupt gate -> handler16
VEC16_R3        equ 0x52        ; 16-bit interrupt gate, DPL3 -> handler16
VEC_CONF        equ 0x51        ; 32-bit interrupt gate, DPL3 -> conforming handler

main:
        INIT
        call    pm_setup
        SETDESC SEL_CONF, 0, 0xFFFFF, 0x9E, FL_32
        SETDESC SEL_STK16, 0, 0xFFFF, ACC_DATA0, 0
        SETDESC SEL_XDOWN3, 0, 0x0FFF, 0xF6, 0x4
        SETDESC SEL_XDOWN16, 0, 0x0FFF, 0x96, 0
        ENTER_PM32
        SETIDT  VEC16, SEL_CODE16, ABS(handler16), GATE_INT16
        SETIDT  VEC16_R3, SEL_CODE16, ABS(handler16), GATE_INT16 | GATE_DPL3
        SETIDT  VEC_CONF, SEL_CONF, ABS(handler_conf), GATE_INT32 | GATE_DPL3
        PM_CLEAR_TEST_VARS

; ---- a 16-bit interrupt gate from 32-bit ring-0 code -------------------------------------------
        mov     [v_esp], esp
        pushfd
        or      dword [esp], 0x0800             ; OF = 1: visible in the pushed FLAGS
        popfd
        int     VEC16
.after16:
        CHECK32 dword [h_count], 1, '16-bit gate: handler ran'
        mov     eax, [v_esp]
        sub     eax, 6
        CHECK32 dword [h_sp], eax, '16-bit gate: 3 words pushed'
        CHECK32M dword [h_frame], 0xFFFF, .after16, '16-bit gate: IP'
        CHECK32M dword [h_frame + 2], 0xFFFF, SEL_CODE32, '16-bit gate: CS'
        CHECK32M dword [h_frame + 4], 0x0802, 0x0802, '16-bit gate: FLAGS'
        CHECK32 dword [h_cs], SEL_CODE16, '16-bit gate: handler CS'
        mov     eax, esp
        CHECK32 eax, [v_esp], '16-bit IRET: ESP restored'

; ---- a 16-bit gate from ring 3: SS, SP, FLAGS, CS, IP as words on the ring-0 stack -------------
        mov     dword [h_count], 0
        ARM_RESUME .r3_fault
        ENTER_RING3 .r3, .r3_back
.r3:    RING3_ENTRY
        int     VEC16_R3
.r3_after:
        mov     [v_esp], esp
        RING3_EXIT
.r3_fault:
        FAIL32  '16-bit gate from ring 3 faulted'
.r3_back:
        DISARM
        CHECK32 dword [h_count], 1, '16-bit gate from ring 3: handler ran'
        CHECK32 dword [h_sp], STACK0_TOP - 10, '16-bit gate from ring 3: 5 words on TSS.SS0:ESP0'
        CHECK32M dword [h_frame], 0xFFFF, .r3_after, '16-bit gate from ring 3: IP'
        CHECK32M dword [h_frame + 2], 0xFFFF, SEL_CODE32_R3, '16-bit gate from ring 3: CS'
        CHECK32M dword [h_frame + 6], 0xFFFF, STACK3_TOP & 0xFFFF, '16-bit gate from ring 3: SP'
        CHECK32M dword [h_frame + 8], 0xFFFF, SEL_DATA32_R3, '16-bit gate from ring 3: SS'
        CHECK32M dword [v_esp], 0xFFFF, STACK3_TOP & 0xFFFF, '16-bit IRET to ring 3: SP'

; ---- #GP through a 16-bit gate: a word error code ------------------------------------------------
        SETIDT  13, SEL_CODE16, ABS(handler16_gp), GATE_INT16
        mov     dword [h_count], 0
        mov     [v_esp], esp
        mov     ax, 0x800
.gp_insn:
        mov     ds, ax                          ; #GP(0800h); the handler skips these 2 bytes
        mov     ax, SEL_DATA32
        mov     ds, ax
        SETIDT_STUB 13, GATE_INT32
        CHECK32 dword [h_count], 1, '#GP through a 16-bit gate: handler ran'
        mov     eax, [v_esp]
        sub     eax, 8
        CHECK32 dword [h_sp], eax, '#GP through a 16-bit gate: error + 3 words'
        CHECK32M dword [h_frame], 0xFFFF, 0x0800, '#GP through a 16-bit gate: error code word'
        CHECK32M dword [h_frame + 2], 0xFFFF, .gp_insn, '#GP through a 16-bit gate: IP of the fault'

; ---- an interrupt gate to a conforming segment: no privilege change ------------------------------
        ARM_RESUME .cf_fault
        ENTER_RING3 .r3c, .cf_back
.r3c:   RING3_ENTRY
        int     VEC_CONF
.r3c_after:
        RING3_EXIT
.cf_fault:
        FAIL32  'interrupt gate to conforming code from ring 3 faulted'
.cf_back:
        DISARM
        CHECK32M dword [c_cs], 0xFFFF, SEL_CONF | 3, 'conforming handler: CS (RPL = CPL 3)'
        CHECK32 dword [c_esp], STACK3_TOP - 12, 'conforming handler: on the ring-3 stack'
        CHECK32 dword [c_frame], .r3c_after, 'conforming handler: pushed EIP'
        CHECK32M dword [c_frame + 4], 0xFFFF, SEL_CODE32_R3, 'conforming handler: pushed CS'

; ---- a 16-bit stack segment under 32-bit code -----------------------------------------------------
        mov     [pm_scratch], esp
        mov     ax, SEL_STK16
        mov     ss, ax
        mov     esp, 0xABCD7000
        mov     eax, 0x5A5A5A5A
        push    eax                             ; SP-based: writes 6FFCh, ESP[31:16] kept
        mov     [v_esp], esp
        mov     eax, [0x6FFC]
        mov     [v_word], eax
        mov     ax, SEL_DATA32
        mov     ss, ax
        mov     esp, [pm_scratch]
        CHECK32 dword [v_esp], 0xABCD6FFC, 'push with SS.B = 0: ESP[31:16] kept'
        CHECK32 dword [v_word], 0x5A5A5A5A, 'push with SS.B = 0: written at SS:SP'

; ---- expand-down stack segments --------------------------------------------------------------------
        ; B = 0: offsets 1000h-FFFFh
        ARM_RESUME .xd16_fault
        mov     ax, SEL_XDOWN16
        mov     ss, ax
        mov     esp, 0x1004
        push    eax                             ; 1000h-1003h: fine
        mov     esp, 0x10000                    ; SP = 0: the push wraps to FFFCh
        push    eax
        DISARM
        mov     ax, SEL_DATA32
        mov     ss, ax
        mov     esp, [pm_scratch]
        jmp     .xd16_ok
.xd16_fault:
        FAIL32  'expand-down 16-bit stack: a push within 1000h-FFFFh faulted'
.xd16_ok:

        ; B = 1 from ring 3: a push below the limit is #SS(0) with ESP unchanged
        TRY
        mov     dword [r3_back_eip], .xd_back
        mov     [r3_back_esp], esp
        push    dword SEL_XDOWN3 | 3
        push    dword 0x1004
        push    dword 2
        push    dword SEL_CODE32_R3
        push    dword .r3x
        iretd
.r3x:   push    eax                             ; 1000h: fine
        AT
        push    eax                             ; 0FFCh: below the limit
        RING3_EXIT
.xd_back:
        EXPECT_EXC 'expand-down stack (B = 1): push below the limit', 12, 0
        CHECK32 dword [exc_esp], 0x1000, 'expand-down stack: ESP unchanged by the faulting push'

        FINISH32

; ---- handlers ----------------------------------------------------------------------------------
bits 16
handler16:
        push    ds                              ; 2 bytes (16-bit code)
        push    eax                             ; 4 bytes
        mov     ax, SEL_DATA32
        mov     ds, ax
        lea     eax, [esp + 6]                  ; the frame (SS.B = 1 here: ESP-based)
        mov     [h_sp], eax
        mov     eax, [esp + 6]                  ; IP, CS
        mov     [h_frame], eax
        mov     eax, [esp + 10]                 ; FLAGS, SP (SP only from ring 3)
        mov     [h_frame + 4], eax
        mov     ax, [esp + 14]                  ; SS (only from ring 3)
        mov     [h_frame + 8], ax
        mov     [h_cs], cs
        inc     dword [h_count]
        pop     eax
        pop     ds
        iret

handler16_gp:
        push    ds
        mov     ax, SEL_DATA32
        mov     ds, ax
        lea     eax, [esp + 2]
        mov     [h_sp], eax
        mov     eax, [esp + 2]                  ; error code, IP
        mov     [h_frame], eax
        mov     eax, [esp + 6]                  ; CS, FLAGS
        mov     [h_frame + 4], eax
        add     word [esp + 4], 2               ; skip the 2-byte MOV DS, AX
        inc     dword [h_count]
        pop     ds
        add     esp, 2                          ; the error code
        iret

bits 32
handler_conf:
        mov     [ss:c_esp], esp
        mov     [ss:c_cs], cs
        mov     eax, [esp]
        mov     [ss:c_frame], eax
        mov     eax, [esp + 4]
        mov     [ss:c_frame + 4], eax
        iretd
