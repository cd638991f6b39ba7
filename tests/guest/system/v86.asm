; v86: virtual-8086 mode under a 32-bit protected-mode monitor (no VME).
;
; SDM Vol. 3 §20.2.1-20.2.5 (entering v86 by IRET with EFLAGS.VM = 1 in the
; image: EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS popped; segments behave as in
; real mode, base = selector * 16; CPL 3), §20.2.7 (sensitive instructions:
; with IOPL < 3, CLI, STI, PUSHF, POPF, INT n and IRET raise #GP(0)),
; §20.2.8.1 (I/O in v86 mode is always checked against the TSS I/O permission
; bitmap, whatever IOPL; ports past the TSS limit are denied), §20.3.1.1 and
; §6.12.1 (an interrupt or exception leaves v86 through a 32-bit gate to a
; DPL0 non-conforming code segment: stack from TSS.SS0:ESP0, GS FS DS ES SS
; ESP EFLAGS CS EIP pushed (36 bytes) then the error code, DS ES FS GS nulled,
; VM cleared; INT n needs gate DPL 3, else #GP(n*8+2)), §20.3.1.2 (the
; handler's IRETD with VM = 1 in the image returns to v86), Vol. 2 POPF (in
; v86 with IOPL 3 POPF does not change IOPL).
;
; With paging on, page faults from v86 code are user accesses (U/S = 1 in the
; error code). The monitor's TSS (pm.inc) allows port 0xE9 only; v86 code runs at CS = 0
; with the program's own offsets, SS:SP = 0000:4800.

%define TEST_NAME 'v86'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
v_cs:           resd 1
v_ss:           resd 1
v_sp:           resd 1
v_flags:        resd 1
v_flags2:       resd 1
v_marker:       resd 1
v_after_skip:   resd 1
section .text

EF_IOPL3        equ 0x3000
VEC_V86_INT     equ 0x40            ; DPL3 gate
VEC_V86_DPL0    equ 0x41            ; DPL0 gate

; V86_TRY eflags / AT / V86_EXPECT name, vector, error: one expected exception in v86 code,
; caught in the ring-0 monitor; checks the pushed CS (0), EFLAGS.VM and SS:ESP.
%macro V86_TRY 1
%push try
        ARM_RESUME %$resume
        ENTER_V86 %$code, %1, %$back
bits 16
%$code:
%endmacro
%macro V86_EXPECT 3
        int     PM_VEC_EXIT                     ; not reached unless the instruction did not fault
bits 32
%$back:
        FAIL32  {%1, ': no exception'}
        jmp     %$end
%$resume:
        CAUGHT  %1, %2, %3, %$at
        CHECK32 dword [exc_cs], 0, {%1, ': pushed CS'}
        CHECK32M dword [exc_eflags], EF_VM, EF_VM, {%1, ': pushed EFLAGS.VM'}
        CHECK32 dword [exc_ss], 0, {%1, ': pushed SS'}
        CHECK32 dword [exc_esp], V86_SP, {%1, ': pushed ESP'}
%$end:
%pop
%endmacro

main:
        INIT
        call    pm_setup
        ENTER_PM32
        PM_CLEAR_TEST_VARS
        SETIDT_STUB VEC_V86_INT, GATE_INT32 | GATE_DPL3
        SETIDT_STUB 3, GATE_INT32 | GATE_DPL3

; ---- enter v86 (IOPL 3), look around, write through real-mode style segments ------------------
        ARM_RESUME .enter_fault
        ENTER_V86 .v86a, EF_IOPL3, .v86a_back
bits 16
.v86a:  mov     [v_cs], cs
        mov     [v_ss], ss
        mov     [v_sp], sp
        pushf
        pop     word [v_flags]
        mov     ax, 0x2000
        mov     es, ax
        mov     byte [es:0x10], 0x77            ; linear 0x20010
        mov     al, 10
        out     0xE9, al                        ; port 0xE9 is allowed by the bitmap
        push    word 0x0202                     ; IF = 1, IOPL = 0
        popf
        pushf
        pop     word [v_flags2]
        ; a real-mode style far IRET inside v86 (IOPL 3): to .v86a_iret
        pushf
        push    cs
        push    word .v86a_iret
        iret
        int     PM_VEC_EXIT
.v86a_iret:
        mov     dword [v_marker], 0x86868686
        int     PM_VEC_EXIT
bits 32
.enter_fault:
        FAIL32  'v86 (IOPL 3) basic block faulted'
.v86a_back:
        DISARM
        CHECK32M dword [v_cs], 0xFFFF, 0, 'v86: CS'
        CHECK32M dword [v_ss], 0xFFFF, 0, 'v86: SS'
        CHECK32M dword [v_sp], 0xFFFF, V86_SP, 'v86: SP'
        CHECK32M dword [v_flags], 0x3000, 0x3000, 'v86: PUSHF shows IOPL 3'
        CHECK32M dword [0x20010], 0xFF, 0x77, 'v86: ES = 2000h addresses linear 0x20000'
        CHECK32M dword [v_flags2], 0x3200, 0x3200, 'v86: POPF (IOPL 3) set IF, kept IOPL'
        CHECK32 dword [v_marker], 0x86868686, 'v86: IRET within v86'

; ---- I/O permission bitmap (checked whatever IOPL) --------------------------------------------
        V86_TRY EF_IOPL3
        AT
        out     0x80, al
        V86_EXPECT 'v86 IOPL 3: out 80h (bitmap denies)', 13, 0
        CHECK32 dword [exc_hss], SEL_DATA32, 'v86 #GP: handler SS = TSS.SS0'
        CHECK32 dword [exc_hesp], STACK0_TOP - 36, 'v86 #GP: handler frame (9 dwords below TSS.ESP0)'

        V86_TRY 0
        AT
        in      al, 0x80
        V86_EXPECT 'v86 IOPL 0: in al, 80h (bitmap denies)', 13, 0

        V86_TRY EF_IOPL3
        mov     dx, 0x3F8
        AT
        out     dx, al
        V86_EXPECT 'v86: out dx=3f8h (past the TSS limit)', 13, 0

        V86_TRY EF_IOPL3
        AT
        in      ax, 0xE9                        ; ports E9h and EAh: EAh is denied
        V86_EXPECT 'v86: in ax, e9h (second port denied)', 13, 0

        ; the monitor skips the denied OUT and IRETs back into v86, which carries on
        ARM_SKIP 2
        ENTER_V86 .v86b, EF_IOPL3, .v86b_back
bits 16
.v86b:  mov     ax, 0x1234
        mov     es, ax
        mov     ax, 0x2345
        mov     fs, ax
        mov     ax, 0x3456
        mov     gs, ax
.v86b_out:
        out     0x80, al
        mov     [v_after_skip], es              ; DS (0) and ES come back from the frame
        mov     [v_after_skip + 2], gs
        int     PM_VEC_EXIT
bits 32
.v86b_back:
        DISARM
        CAUGHT  'v86: skipped out 80h', 13, 0, .v86b_out
        CHECK32 dword [exc_v86], 0x1234, 'v86 #GP frame: ES'
        CHECK32 dword [exc_v86 + 8], 0, 'v86 #GP frame: DS'
        CHECK32 dword [exc_v86 + 16], 0x2345, 'v86 #GP frame: FS'
        CHECK32 dword [exc_v86 + 24], 0x3456, 'v86 #GP frame: GS'
        CHECK32 dword [v_after_skip], 0x34561234, 'v86: ES and GS after the monitor IRETD'

; ---- IOPL-sensitive instructions with IOPL 0: #GP(0) -----------------------------------------
%macro V86_GP0 2+
        V86_TRY 0
        AT
        %2
        V86_EXPECT %1, 13, 0
%endmacro
        V86_GP0 'v86 IOPL 0: cli', cli
        V86_GP0 'v86 IOPL 0: sti', sti
        V86_GP0 'v86 IOPL 0: pushf', pushf
        V86_GP0 'v86 IOPL 0: popf', popf
        V86_GP0 'v86 IOPL 0: int 40h', int VEC_V86_INT
        V86_GP0 'v86 IOPL 0: iret', iret
        V86_GP0 'v86 IOPL 0: o32 pushfd', pushfd
        V86_GP0 'v86: hlt (CPL 3)', hlt
        V86_GP0 'v86: mov eax, cr0 (CPL 3)', mov eax, cr0

; ---- INT n with IOPL 3: through the protected-mode IDT ----------------------------------------
        ARM_RESUME .int_resume
        ENTER_V86 .v86c, EF_IOPL3, .v86c_back
bits 16
.v86c:  mov     ax, 0x1111
        mov     es, ax
        mov     ax, 0x2222
        mov     fs, ax
        mov     ax, 0x3333
        mov     gs, ax
        mov     ax, 0x0044
        mov     ds, ax
        push    ax                              ; SP = V86_SP - 2 at the INT
        int     VEC_V86_INT
.v86c_after:
        int     PM_VEC_EXIT
bits 32
.v86c_back:
        FAIL32  'v86 int 40h: did not reach the handler'
        jmp     .int_done
.int_resume:
        CAUGHT  'v86 int 40h (IOPL 3, DPL3 gate)', VEC_V86_INT, -1, .v86c_after
        CHECK32 dword [exc_cs], 0, 'v86 int 40h: pushed CS'
        CHECK32M dword [exc_eflags], EF_VM | EF_IOPL3, EF_VM | EF_IOPL3, 'v86 int 40h: pushed EFLAGS VM, IOPL'
        CHECK32 dword [exc_esp], V86_SP - 2, 'v86 int 40h: pushed ESP'
        CHECK32 dword [exc_ss], 0, 'v86 int 40h: pushed SS'
        CHECK32 dword [exc_v86], 0x1111, 'v86 int 40h: pushed ES'
        CHECK32 dword [exc_v86 + 8], 0x0044, 'v86 int 40h: pushed DS'
        CHECK32 dword [exc_v86 + 16], 0x2222, 'v86 int 40h: pushed FS'
        CHECK32 dword [exc_v86 + 24], 0x3333, 'v86 int 40h: pushed GS'
        CHECK32 dword [exc_hesp], STACK0_TOP - 36, 'v86 int 40h: handler frame (9 dwords)'
        CHECK32 dword [exc_hss], SEL_DATA32, 'v86 int 40h: handler SS'
.int_done:

        V86_TRY EF_IOPL3
        AT
        int     VEC_V86_DPL0
        V86_EXPECT 'v86 IOPL 3: int 41h through a DPL0 gate', 13, VEC_V86_DPL0 * 8 + 2

        ARM_RESUME .int3_resume
        ENTER_V86 .v86d, EF_IOPL3, .v86d_back
bits 16
.v86d:  int3
.v86d_after:
        int     PM_VEC_EXIT
bits 32
.v86d_back:
        FAIL32  'v86 int3: did not reach the handler'
        jmp     .int3_done
.int3_resume:
        CAUGHT  'v86 int3 (DPL3 gate)', 3, -1, .v86d_after
.int3_done:

        ; an exception (not INT n) from v86 does not depend on IOPL or the gate DPL
        V86_TRY 0
        AT
        ud2
        V86_EXPECT 'v86 IOPL 0: ud2', 6, -1

; ---- paging: page faults from v86 code are user-mode accesses (SDM Vol. 3 §4.6, §20.1) ---------
        cld
        mov     edi, 0x21000
        mov     eax, 7
        mov     ecx, 1024
.pt:    stosd
        add     eax, 0x1000
        dec     ecx
        jnz     .pt
        mov     dword [0x21000 + 0x30 * 4], 0x30000 | 3          ; supervisor only
        mov     dword [0x21000 + 0x31 * 4], 0                    ; not present
        mov     dword [0x20000], 0x21000 | 7
        mov     eax, 0x20000
        mov     cr3, eax
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax

        V86_TRY EF_IOPL3
        mov     ax, 0x3000
        mov     es, ax
        AT
        mov     al, [es:0x10]
        V86_EXPECT 'v86: read of a supervisor page', 14, 5
        CHECK32 dword [exc_cr2], 0x30010, 'v86: read of a supervisor page: CR2'

        V86_TRY EF_IOPL3
        mov     ax, 0x3100
        mov     es, ax
        AT
        mov     byte [es:0x20], 1
        V86_EXPECT 'v86: write to a not-present page', 14, 6
        CHECK32 dword [exc_cr2], 0x31020, 'v86: write to a not-present page: CR2'

        FINISH32
