; sysenter: SYSENTER/SYSEXIT in 32-bit protected mode (SDM Vol. 2 SYSENTER,
; SYSEXIT; Vol. 3 §5.8.7).
;
; CPUID.01H:EDX.SEP (bit 11); IA32_SYSENTER_CS/ESP/EIP (MSRs 174h-176h) read
; back what was written. SYSENTER: CS = SYSENTER_CS & FFFCh, SS = CS + 8, CPL
; 0, ESP/EIP from the MSRs, EFLAGS.VM/IF/RF cleared (others kept). SYSEXIT:
; CS = (SYSENTER_CS + 16) | 3, SS = (SYSENTER_CS + 24) | 3, EIP = EDX, ESP =
; ECX, CPL 3, EFLAGS unchanged. Both load fixed flat 4 GiB descriptors without
; reading the GDT, so the GDT entries behind the ring-3 selectors here are
; deliberately different (a 16-bit code segment and a 4 KiB data segment):
; 32-bit code and a stack at 0x4xxx must still work after SYSEXIT.
; #GP(0): SYSENTER with SYSENTER_CS = 0, SYSEXIT with SYSENTER_CS = 0, SYSEXIT
; at CPL 3, SYSENTER in real mode.

%define TEST_NAME 'sysenter'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
rm_gp_count:    resw 1
rm_resume_ip:   resw 1
rm_resume_sp:   resw 1
rm_ud_count:    resw 1
v_eflags:       resd 1
v_cs:           resd 1
v_ds:           resd 1
v_count:        resd 1
k_cs:           resd 1
k_ss:           resd 1
k_esp:          resd 1
k_eflags:       resd 1
k_edx:          resd 1
k_ecx:          resd 1
k_count:        resd 1
u_cs:           resd 1
u_ss:           resd 1
u_esp:          resd 1
u_eflags:       resd 1
u_eflags2:      resd 1
u_val:          resd 1
u_pushpop:      resd 1
msr_vals:       resd 6
section .text

SYS_CS          equ 0x80            ; 0x80 code0, 0x88 data0, 0x90 "code3", 0x98 "data3"
SYSENTER_CS_MSR equ 0x174
SYSENTER_ESP_MSR equ 0x175
SYSENTER_EIP_MSR equ 0x176
K_STACK         equ 0x6800
U_STACK         equ 0x4F00
EF_CF           equ 0x001
EF_IF           equ 0x200
EF_DF           equ 0x400

%macro WRMSR32 2
        mov     ecx, %1
        mov     eax, %2
        xor     edx, edx
        wrmsr
%endmacro

main:
        INIT
        call    pm_setup
        SETDESC SYS_CS, 0, 0xFFFFF, ACC_CODE0, FL_32
        SETDESC SYS_CS + 8, 0, 0xFFFFF, ACC_DATA0, FL_32
        SETDESC SYS_CS + 16, 0, 0xFFFF, ACC_CODE3, FL_16      ; not what SYSEXIT loads
        SETDESC SYS_CS + 24, 0, 0x0FFF, ACC_DATA3, 0x4        ; not what SYSEXIT loads

        ; SYSENTER in real mode: #GP(0)
        SET_VECTOR 13, rm_catch13
        SET_VECTOR 6, rm_catch6
        mov     word [rm_gp_count], 0
        mov     word [rm_ud_count], 0
        mov     word [rm_resume_ip], .rm_after
        mov     [rm_resume_sp], sp
        sysenter
.rm_after:
        EXPECTW [rm_gp_count], 1, 'sysenter in real mode: #GP count'
        EXPECTW [rm_ud_count], 0, 'sysenter in real mode: #UD count'
        mov     word [rm_gp_count], 0
        mov     word [rm_ud_count], 0
        mov     word [rm_resume_ip], .rm_after2
        mov     [rm_resume_sp], sp
        sysexit
.rm_after2:
        EXPECTW [rm_gp_count], 1, 'sysexit in real mode: #GP count'
        EXPECTW [rm_ud_count], 0, 'sysexit in real mode: #UD count'

        mov     eax, 1
        cpuid
        and     edx, 1 << 11
        EXPECTD edx, 1 << 11, 'CPUID.01H:EDX.SEP'
        ENTER_PM32
        ; SYSENTER_CS = 0: both instructions #GP(0)
        WRMSR32 SYSENTER_CS_MSR, 0
        TRY
        AT
        sysexit
        EXPECT_EXC 'sysexit with SYSENTER_CS = 0', 13, 0

        WRMSR32 SYSENTER_CS_MSR, SYS_CS
        WRMSR32 SYSENTER_ESP_MSR, K_STACK
        WRMSR32 SYSENTER_EIP_MSR, kernel_entry
        mov     ecx, SYSENTER_CS_MSR
        rdmsr
        mov     [msr_vals], eax
        mov     [msr_vals + 4], edx
        mov     ecx, SYSENTER_ESP_MSR
        rdmsr
        mov     [msr_vals + 8], eax
        mov     [msr_vals + 12], edx
        mov     ecx, SYSENTER_EIP_MSR
        rdmsr
        mov     [msr_vals + 16], eax
        mov     [msr_vals + 20], edx
        CHECK32 dword [msr_vals], SYS_CS, 'rdmsr SYSENTER_CS'
        CHECK32 dword [msr_vals + 4], 0, 'rdmsr SYSENTER_CS high'
        CHECK32 dword [msr_vals + 8], K_STACK, 'rdmsr SYSENTER_ESP'
        CHECK32 dword [msr_vals + 16], kernel_entry, 'rdmsr SYSENTER_EIP'
        CHECK32 dword [msr_vals + 20], 0, 'rdmsr SYSENTER_EIP high'

; ---- ring 0 -> SYSEXIT -> ring 3 -> SYSENTER -> ring 0 -> SYSEXIT -> ring 3 -----------------
        ARM_RESUME .fault
        mov     dword [r3_back_eip], .back
        mov     [r3_back_esp], esp
        pushfd
        or      dword [esp], EF_IF | EF_DF | EF_CF ; flags SYSEXIT must leave alone (IF: no interrupt sources)
        popfd
        mov     edx, user_code
        mov     ecx, U_STACK
        sysexit
.fault:
        FAIL32  'sysenter/sysexit round trip faulted'
        jmp     .done
.back:
        DISARM
        cld
        CHECK32 dword [u_cs], SYS_CS + 16 + 3, 'after sysexit: CS = SYSENTER_CS + 16, RPL 3'
        CHECK32 dword [u_ss], SYS_CS + 24 + 3, 'after sysexit: SS = SYSENTER_CS + 24, RPL 3'
        CHECK32 dword [u_esp], U_STACK, 'after sysexit: ESP = ECX'
        CHECK32M dword [u_eflags], EF_IF | EF_DF | EF_CF, EF_IF | EF_DF | EF_CF, 'after sysexit: EFLAGS unchanged (IF, DF, CF)'
        CHECK32 dword [u_val], 0x12345678, 'after sysexit: 32-bit code (fixed descriptor, not the GDT one)'
        CHECK32 dword [u_pushpop], 0xCAFEF00D, 'after sysexit: stack beyond the GDT entry limit works'
        CHECK32 dword [k_count], 1, 'kernel entry ran once'
        CHECK32 dword [k_cs], SYS_CS, 'after sysenter: CS = SYSENTER_CS'
        CHECK32 dword [k_ss], SYS_CS + 8, 'after sysenter: SS = SYSENTER_CS + 8'
        CHECK32 dword [k_esp], K_STACK, 'after sysenter: ESP = SYSENTER_ESP'
        CHECK32M dword [k_eflags], EF_IF | EF_DF | EF_CF | 0x20000, EF_DF | EF_CF, 'after sysenter: IF cleared, DF/CF kept'
        CHECK32 dword [k_edx], user_back, 'after sysenter: EDX kept'
        CHECK32 dword [k_ecx], U_STACK - 0x10, 'after sysenter: ECX kept'
        CHECK32M dword [u_eflags2], EF_IF, EF_IF, 'after the second sysexit: IF as the kernel left it'
.done:

        ; SYSENTER from virtual-8086 mode: allowed (same as protected mode), clears VM
        WRMSR32 SYSENTER_EIP_MSR, kernel_from_v86
        ARM_RESUME .v86_fault
        mov     dword [r3_back_eip], .v86_back
        mov     [r3_back_esp], esp
        push    dword 0                         ; GS
        push    dword 0                         ; FS
        push    dword 0x0040                    ; DS
        push    dword 0                         ; ES
        push    dword 0                         ; SS
        push    dword 0x4800                    ; ESP
        push    dword 0x23002                   ; EFLAGS: VM, IOPL 3
        push    dword 0                         ; CS
        push    dword v86_code                  ; EIP
        iretd
.v86_fault:
        FAIL32  'sysenter from v86 mode faulted'
        jmp     .v86_done
.v86_back:
        DISARM
        CHECK32 dword [v_count], 1, 'sysenter from v86: kernel entry ran'
        CHECK32M dword [v_eflags], 0x20000, 0, 'sysenter from v86: VM cleared'
        CHECK32 dword [v_cs], SYS_CS, 'sysenter from v86: CS'
        CHECK32 dword [v_ds], 0x0040, 'sysenter from v86: DS selector untouched'
.v86_done:

        ; SYSEXIT at CPL 3: #GP(0)
        R3_TRY
        AT
        sysexit
        R3_EXPECT 'sysexit at CPL3', 13, 0

        ; SYSENTER with SYSENTER_CS = 0 from CPL 3: #GP(0)
        WRMSR32 SYSENTER_CS_MSR, 0
        R3_TRY
        AT
        sysenter
        R3_EXPECT 'sysenter with SYSENTER_CS = 0', 13, 0

        FINISH32

; ---- ring-3 code entered by SYSEXIT (CS 93h, SS 9Bh with fixed flat descriptors) -------------
user_code:
        mov     [ss:u_cs], cs                   ; SS: its cached base is 0 whatever the GDT says
        mov     word [ss:u_cs + 2], 0
        mov     [ss:u_ss], ss
        mov     word [ss:u_ss + 2], 0
        mov     [ss:u_esp], esp
        pushfd
        pop     dword [ss:u_eflags]
        mov     eax, 0x12345678                 ; 5 bytes in 32-bit code, 3 + garbage in 16-bit
        mov     [ss:u_val], eax
        push    dword 0xCAFEF00D                ; ESP 0x4Exx: past the GDT entry's 0xFFF limit
        pop     dword [ss:u_pushpop]
        mov     edx, user_back
        mov     ecx, U_STACK - 0x10
        sysenter
user_back:
        pushfd
        pop     dword [ss:u_eflags2]
        RING3_EXIT

; ---- v86 code: SYSENTER ---------------------------------------------------------------------
bits 16
v86_code:
        sysenter
        int     PM_VEC_EXIT                     ; not reached
bits 32
kernel_from_v86:
        mov     ax, SEL_DATA32
        mov     es, ax
        mov     [es:v_ds], ds
        mov     word [es:v_ds + 2], 0
        pushfd
        pop     dword [es:v_eflags]
        mov     [es:v_cs], cs
        mov     word [es:v_cs + 2], 0
        inc     dword [es:v_count]
        jmp     pm_ring3_exit                   ; back to the test (flat segments, r3_back_*)

; ---- ring-0 SYSENTER target --------------------------------------------------------------------
kernel_entry:
        mov     [ss:k_esp], esp
        mov     [ss:k_cs], cs
        mov     word [ss:k_cs + 2], 0
        mov     [ss:k_ss], ss
        mov     word [ss:k_ss + 2], 0
        pushfd
        pop     dword [ss:k_eflags]
        mov     [ss:k_edx], edx
        mov     [ss:k_ecx], ecx
        inc     dword [ss:k_count]
        sti                                     ; SYSEXIT keeps EFLAGS: ring 3 sees IF = 1 again
        sysexit

bits 16
rm_catch13:
        inc     word [cs:rm_gp_count]
        mov     sp, [cs:rm_resume_sp]
        jmp     word [cs:rm_resume_ip]
rm_catch6:
        inc     word [cs:rm_ud_count]
        mov     sp, [cs:rm_resume_sp]
        jmp     word [cs:rm_resume_ip]
