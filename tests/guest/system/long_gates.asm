; long_gates: privilege transfers in IA-32e mode.
;
; SDM Vol. 3 §5.8.3.1 and Vol. 2 CALL/RET (64-bit call gates: 16 bytes, the
; upper half's type field 0; the target must be a 64-bit code segment; a call
; to an inner level takes RSP from TSS.RSPn, loads SS with a null selector
; (RPL = new CPL) and pushes SS, RSP, CS, RIP as quadwords, no parameter copy;
; RETF with REX.W returns; a 16-bit call gate type is invalid in IA-32e mode
; -> #GP(gate)), §6.14.1 (only 64-bit interrupt/trap gates in the IDT: a task
; gate or a 16-bit gate -> #GP(vector * 8 + 2)), §6.14.4 (a privilege change
; loads a null SS), Vol. 2 IRET (IRETQ with a non-canonical RIP -> #GP(0);
; IRETQ to a compatibility-mode code segment at CPL3), Vol. 2 MOV (a null SS
; is allowed at CPL0-2 in 64-bit mode, #GP(0) at CPL3), Vol. 2 JMP (far JMP
; through m16:64 with REX.W), Vol. 2 SYSENTER/SYSEXIT in IA-32e mode
; (SYSENTER loads a 64-bit CS = SYSENTER_CS and SS = +8 with RIP/RSP from the
; MSRs; SYSEXIT with REX.W returns to 64-bit mode with CS = +32, SS = +40,
; RIP = RDX, RSP = RCX; without REX.W to compatibility mode, CS = +16, SS = +24).

%define TEST_NAME 'long_gates'
%define PM_LONG
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
k_rsp:          resq 1
k_ss:           resq 1
k_frame:        resq 4
u_rsp:          resq 1
u_cs:           resq 1
uc_cs:          resq 1
jmp_ok:         resq 1
se_mode:        resq 1
se_cs:          resq 1
se_ss:          resq 1
se_rsp:         resq 1
se_rflags:      resq 1
sx_cs:          resq 1
sx_ss:          resq 1
sx_rsp:         resq 1
sxc_cs:         resq 1
sxc_esp:        resq 1
ss0_val:        resq 1
section .text

SEL_GATE64      equ 0x80        ; 64-bit call gate, DPL3 -> 0040:kernel_gate (16 bytes: 80h, 88h)
SEL_GATE16      equ 0x90        ; 16-bit call gate type, DPL3
SEL_GATE64_C32  equ 0x98        ; 64-bit call gate, DPL3 -> 0008 (a 32-bit code segment) (98h, A0h)
SEL_GATE64_BADT equ 0xA8        ; 64-bit call gate with a non-zero type in its upper half (A8h, B0h)
U_STACK         equ 0x4F00
NONCANON        equ 0x0000800000000000
SYSENTER_CS_MSR equ 0x174
SYSENTER_ESP_MSR equ 0x175
SYSENTER_EIP_MSR equ 0x176

; R3_TRY64 / R3_EXPECT64 name, vector, error: ring-3 64-bit code (entered by IRETQ) that must
; fault; caught in ring 0.
%macro R3_TRY64 0
%push try
        ARM_RESUME64 %$resume
        mov     qword [r3_back_eip], %$back
        mov     [r3_back_esp], rsp
        push    SEL_DATA64_R3
        push    U_STACK
        push    0x202
        push    SEL_CODE64_R3
        push    %$code
        iretq
%$code:
%endmacro
%macro R3_EXPECT64 3
        int     PM_VEC_EXIT
%$back:
        FAIL64  {%1, ': no exception'}
        jmp     %$end
%$resume:
        CAUGHT64 %1, %2, %3, %$at
        CHECK64 qword [exc_cs], SEL_CODE64_R3, {%1, ': pushed CS'}
%$end:
%pop
%endmacro

main:
        INIT
        call    pm_setup
        ; 64-bit call gates (SDM Vol. 3 Figure 5-9)
        SETGATE_AT GDT_BASE + SEL_GATE64, SEL_CODE64, ABS(kernel_gate), GATE_CALL32 | GATE_DPL3, 0
        mov     dword [GDT_BASE + SEL_GATE64 + 8], 0
        mov     dword [GDT_BASE + SEL_GATE64 + 12], 0
        SETGATE_AT GDT_BASE + SEL_GATE16, SEL_CODE32, ABS(kernel_gate), GATE_CALL16 | GATE_DPL3, 0
        SETGATE_AT GDT_BASE + SEL_GATE64_C32, SEL_CODE32, ABS(kernel_gate), GATE_CALL32 | GATE_DPL3, 0
        mov     dword [GDT_BASE + SEL_GATE64_C32 + 8], 0
        mov     dword [GDT_BASE + SEL_GATE64_C32 + 12], 0
        SETGATE_AT GDT_BASE + SEL_GATE64_BADT, SEL_CODE64, ABS(kernel_gate), GATE_CALL32 | GATE_DPL3, 0
        mov     dword [GDT_BASE + SEL_GATE64_BADT + 8], 0
        mov     dword [GDT_BASE + SEL_GATE64_BADT + 12], 0x0C00   ; type 0Ch in the upper half
        ENTER_PM32
        PM_CLEAR_TEST_VARS
        ENTER_LONG64

; ---- a call gate from ring 3 to ring 0 and RETF back ---------------------------------------------
        ARM_RESUME64 .cg_fault
        mov     qword [r3_back_eip], .cg_back
        mov     [r3_back_esp], rsp
        push    SEL_DATA64_R3
        push    U_STACK
        push    0x202
        push    SEL_CODE64_R3
        push    user_gate
        iretq
.cg_fault:
        FAIL64  'ring 3 -> 64-bit call gate -> RETF faulted'
        jmp     .cg_done
.cg_back:
        DISARM64
        mov     ax, ss
        movzx   eax, ax
        CHECK64 rax, 0, 'int 30h from 64-bit ring 3: SS null in the handler'
        mov     ax, SEL_DATA32
        mov     ss, ax
        CHECK64 qword [k_rsp], STACK0_TOP - 32, 'call gate: RSP = TSS.RSP0 - 4 quadwords'
        CHECK64 qword [k_ss], 0, 'call gate: SS null'
        CHECK64 qword [k_frame], user_gate.ret, 'call gate: [rsp] RIP'
        CHECK64 qword [k_frame + 8], SEL_CODE64_R3, 'call gate: [rsp+8] CS'
        CHECK64 qword [k_frame + 16], U_STACK, 'call gate: [rsp+16] RSP'
        CHECK64 qword [k_frame + 24], SEL_DATA64_R3, 'call gate: [rsp+24] SS'
        CHECK64 qword [u_rsp], U_STACK, 'after RETF: RSP'
        CHECK64 qword [u_cs], SEL_CODE64_R3, 'after RETF: CS'
.cg_done:

        ; the same gate from compatibility-mode ring 3
        mov     qword [k_rsp], 0
        mov     qword [k_ss], -1
        ARM_RESUME64 .cgc_fault
        mov     qword [r3_back_eip], .cgc_back
        mov     [r3_back_esp], rsp
        push    SEL_DATA64_R3
        push    U_STACK
        push    0x202
        push    SEL_CODE32C_R3
        push    user_compat_gate
        iretq
.cgc_fault:
        FAIL64  'compat ring 3 -> 64-bit call gate -> RETF faulted'
        jmp     .cgc_done
.cgc_back:
        DISARM64
        mov     ax, SEL_DATA32
        mov     ss, ax
        CHECK64 qword [k_rsp], STACK0_TOP - 32, 'call gate from compat: RSP = TSS.RSP0 - 4 quadwords'
        CHECK64 qword [k_ss], 0, 'call gate from compat: SS null'
        CHECK64 qword [k_frame], user_compat_gate.ret, 'call gate from compat: [rsp] RIP'
        CHECK64 qword [k_frame + 8], SEL_CODE32C_R3, 'call gate from compat: [rsp+8] CS'
        CHECK64 qword [k_frame + 16], U_STACK, 'call gate from compat: [rsp+16] RSP'
        CHECK64 qword [k_frame + 24], SEL_DATA64_R3, 'call gate from compat: [rsp+24] SS'
        CHECK64 qword [u_cs], SEL_CODE32C_R3, 'call gate from compat: CS after RETF'
.cgc_done:

        R3_TRY64
        AT
        call    far dword [rel ptr_gate16]
        R3_EXPECT64 'call through a 16-bit call gate in IA-32e mode', 13, SEL_GATE16

        R3_TRY64
        AT
        call    far dword [rel ptr_gate_c32]
        R3_EXPECT64 'call gate to a 32-bit code segment', 13, SEL_CODE32

        R3_TRY64
        AT
        call    far dword [rel ptr_gate_badt]
        R3_EXPECT64 'call gate with a non-zero upper type', 13, SEL_GATE64_BADT

        R3_TRY64
        AT
        int     0x45
        R3_EXPECT64 'int 45h (DPL0 gate) from ring 3', 13, 0x45 * 8 + 2

        R3_TRY64
        xor     eax, eax
        AT
        mov     ss, ax
        R3_EXPECT64 'mov ss, null at CPL3', 13, 0

        ; ring 3 -> ring 0 interrupt: SS null, frame on RSP0
        SETIDT64_STUB 0x40, GATE_INT32 | GATE_DPL3, 0
        R3_TRY64
        int     0x40
        AT
        R3_EXPECT64 'int 40h from ring 3 (pushed RIP after the INT)', 0x40, -1
        CHECK64 qword [exc_hss], 0, 'int 40h from ring 3: handler SS null'
        CHECK64 qword [exc_ss], SEL_DATA64_R3, 'int 40h from ring 3: pushed SS'
        CHECK64 qword [exc_esp], U_STACK, 'int 40h from ring 3: pushed RSP'
        CHECK64 qword [exc_hesp], STACK0_TOP - 40, 'int 40h from ring 3: frame on TSS.RSP0'

; ---- ring 0 rules --------------------------------------------------------------------------------
        ARM_RESUME64 .ss_fault
        xor     eax, eax
        mov     ss, ax                          ; allowed at CPL0 in 64-bit mode
        mov     ax, ss
        movzx   eax, ax
        mov     [ss0_val], rax
        push    rax                             ; and the stack still works
        pop     rax
        DISARM64
        jmp     .ss_ok
.ss_fault:
        FAIL64  'mov ss, null at CPL0 in 64-bit mode faulted'
.ss_ok:
        mov     ax, SEL_DATA32
        mov     ss, ax
        CHECK64 qword [ss0_val], 0, 'mov ss, null at CPL0: SS'

        mov     dword [IDT_BASE + 0x44 * 16 + 4], GATE_TASK << 8
        TRY64
        AT
        int     0x44
        EXPECT_EXC64 'int 44h, a task gate in the 64-bit IDT', 13, 0x44 * 8 + 2
        mov     dword [IDT_BASE + 0x46 * 16 + 4], GATE_INT16 << 8
        TRY64
        AT
        int     0x46
        EXPECT_EXC64 'int 46h, a 16-bit gate in the 64-bit IDT', 13, 0x46 * 8 + 2

        TRY64
        mov     rax, rsp
        push    SEL_DATA32
        push    rax
        push    2
        push    SEL_CODE64
        mov     rax, NONCANON
        push    rax
        AT
        iretq
        EXPECT_EXC64 'iretq to a non-canonical RIP', 13, 0

        ; IRETQ to ring 3 compatibility mode
        ARM_RESUME64 .ic_fault
        mov     qword [r3_back_eip], .ic_back
        mov     [r3_back_esp], rsp
        push    SEL_DATA64_R3
        push    U_STACK
        push    0x202
        push    SEL_CODE32C_R3
        push    user_compat
        iretq
.ic_fault:
        FAIL64  'iretq to compatibility mode at ring 3 faulted'
        jmp     .ic_done
.ic_back:
        DISARM64
        mov     ax, ss
        movzx   eax, ax
        CHECK64 rax, 0, 'int 30h from compatibility-mode ring 3: SS null in the handler'
        mov     ax, SEL_DATA32
        mov     ss, ax
        CHECK64 qword [uc_cs], SEL_CODE32C_R3, 'iretq to compatibility mode: CS'
.ic_done:

        ; far JMP through m16:64 (REX.W) and m16:32 into compatibility mode and back
        ARM_RESUME64 .fj_fault
        jmp     far qword [rel ptr_far64]      ; REX.W: m16:64
        FAIL64  'jmp far m16:64 fell through'
.fj_fault:
        FAIL64  'far jmp m16:64 / m16:32 faulted'
        jmp     .fj_done
.fj64:
        mov     qword [jmp_ok], 1
        jmp     far dword [rel ptr_far32]      ; m16:32
.fj_back:
        DISARM64
        CHECK64 qword [jmp_ok], 3, 'far jmp m16:64 then m16:32 to compatibility mode and back'
.fj_done:

; ---- SYSENTER / SYSEXIT in IA-32e mode -------------------------------------------------------------
        mov     ecx, SYSENTER_CS_MSR
        mov     eax, SEL_CODE64
        xor     edx, edx
        wrmsr
        mov     ecx, SYSENTER_ESP_MSR
        mov     eax, 0x6800
        wrmsr
        mov     ecx, SYSENTER_EIP_MSR
        mov     eax, kernel_sysenter
        wrmsr
        mov     qword [se_mode], 0
        ARM_RESUME64 .se_fault
        mov     qword [r3_back_eip], .se_back
        mov     [r3_back_esp], rsp
        push    SEL_DATA64_R3
        push    U_STACK
        push    0x202
        push    SEL_CODE64_R3
        push    user_sysenter
        iretq
.se_fault:
        FAIL64  'sysenter/sysexit (64-bit) faulted'
        jmp     .se_done
.se_back:
        DISARM64
        CHECK64 qword [se_cs], SEL_CODE64, 'sysenter (IA-32e): CS = SYSENTER_CS'
        CHECK64 qword [se_ss], SEL_DATA64, 'sysenter (IA-32e): SS = SYSENTER_CS + 8'
        CHECK64 qword [se_rsp], 0x6800, 'sysenter (IA-32e): RSP = SYSENTER_ESP'
        mov     rax, [se_rflags]
        and     eax, 0x200
        CHECK64 rax, 0, 'sysenter (IA-32e): IF cleared'
        CHECK64 qword [sx_cs], SEL_CODE64 + 32 + 3, 'sysexit (REX.W): CS = SYSENTER_CS + 32, RPL 3'
        CHECK64 qword [sx_ss], SEL_CODE64 + 40 + 3, 'sysexit (REX.W): SS = SYSENTER_CS + 40, RPL 3'
        CHECK64 qword [sx_rsp], U_STACK - 0x80, 'sysexit (REX.W): RSP = RCX'
.se_done:

        mov     qword [se_mode], 1              ; the kernel returns with a 32-bit SYSEXIT
        ARM_RESUME64 .se2_fault
        mov     qword [r3_back_eip], .se2_back
        mov     [r3_back_esp], rsp
        push    SEL_DATA64_R3
        push    U_STACK
        push    0x202
        push    SEL_CODE64_R3
        push    user_sysenter2
        iretq
.se2_fault:
        FAIL64  'sysenter / 32-bit sysexit faulted'
        jmp     .se2_done
.se2_back:
        DISARM64
        mov     ax, ss
        movzx   eax, ax
        CHECK64 rax, 0, 'int 30h from compatibility-mode ring 3 (after SYSEXIT): SS null'
        mov     ax, SEL_DATA32
        mov     ss, ax
        CHECK64 qword [sxc_cs], SEL_CODE64 + 16 + 3, 'sysexit (32-bit): CS = SYSENTER_CS + 16, RPL 3'
        CHECK64 qword [sxc_esp], U_STACK - 0x100, 'sysexit (32-bit): ESP = ECX'
.se2_done:

        FINISH64

; ---- code --------------------------------------------------------------------------------------
user_gate:
        call    far dword [rel ptr_gate64]
.ret:   mov     [u_rsp], rsp
        mov     ax, cs
        movzx   eax, ax
        mov     [u_cs], rax
        int     PM_VEC_EXIT

kernel_gate:
        mov     [k_rsp], rsp
        mov     ax, ss
        movzx   eax, ax
        mov     [k_ss], rax
        mov     rax, [rsp]
        mov     [k_frame], rax
        mov     rax, [rsp + 8]
        mov     [k_frame + 8], rax
        mov     rax, [rsp + 16]
        mov     [k_frame + 16], rax
        mov     rax, [rsp + 24]
        mov     [k_frame + 24], rax
        o64 retf

user_sysenter:
        mov     rdx, .back
        mov     rcx, U_STACK - 0x80
        sysenter
.back:  mov     ax, cs
        movzx   eax, ax
        mov     [sx_cs], rax
        mov     ax, ss
        movzx   eax, ax
        mov     [sx_ss], rax
        mov     [sx_rsp], rsp
        int     PM_VEC_EXIT

user_sysenter2:
        mov     edx, user_compat2
        mov     ecx, U_STACK - 0x100
        sysenter

kernel_sysenter:
        mov     ax, cs
        movzx   eax, ax
        mov     [se_cs], rax
        mov     ax, ss
        movzx   eax, ax
        mov     [se_ss], rax
        mov     [se_rsp], rsp
        pushfq
        pop     qword [se_rflags]
        cmp     qword [se_mode], 0
        jne     .compat
        o64 sysexit
.compat:
        sysexit

ptr_gate64:     dd 0
                dw SEL_GATE64 | 3
ptr_gate16:     dd 0
                dw SEL_GATE16 | 3
ptr_gate_c32:   dd 0
                dw SEL_GATE64_C32 | 3
ptr_gate_badt:  dd 0
                dw SEL_GATE64_BADT | 3
ptr_far64:      dq long_gates_fj64
                dw SEL_CODE64
ptr_far32:      dd compat0
                dw SEL_CODE32
long_gates_fj64 equ main.fj64

bits 32
user_compat:
        mov     ax, SEL_DATA64_R3
        mov     ds, ax
        mov     ax, cs
        movzx   eax, ax
        mov     [uc_cs], eax
        int     PM_VEC_EXIT

user_compat_gate:
        mov     ax, SEL_DATA64_R3               ; IRETQ to ring 3 nulled DS
        mov     ds, ax
        call    far dword [ptr_gate64]
.ret:   mov     ax, cs
        movzx   eax, ax
        mov     [u_cs], eax
        mov     dword [u_cs + 4], 0
        int     PM_VEC_EXIT

user_compat2:
        mov     ax, SEL_DATA64_R3
        mov     ds, ax
        mov     ax, cs
        movzx   eax, ax
        mov     [sxc_cs], eax
        mov     [sxc_esp], esp
        int     PM_VEC_EXIT

compat0:
        mov     ax, SEL_DATA32
        mov     ds, ax
        inc     dword [jmp_ok]
        inc     dword [jmp_ok]
        jmp     SEL_CODE64:main.fj_back
