; long_mode: IA-32e mode entry, 64-bit and compatibility mode, and the way back.
;
; Entry (SDM Vol. 3 §10.8.5): from 32-bit protected mode, CR4.PAE, CR3 = PML4,
; IA32_EFER.LME (WRMSR), CR0.PG -> EFER.LMA = 1 (in compatibility mode), then
; a far JMP to a 64-bit code segment (L = 1). CR0.PG with LME = 1 and PAE = 0
; -> #GP(0) (Vol. 2 MOV CR). In long mode, clearing CR4.PAE or changing
; EFER.LME -> #GP(0).
; 64-bit mode (Vol. 1 §3.4.1.1, §3.5.1.3): 64-bit registers, R8-R15, REX byte
; registers (SIL), 32-bit writes zero-extend, 16-bit writes do not; MOVSXD;
; RIP-relative addresses are relative to the next instruction.
; Canonical addresses (Vol. 3 §6.14.1? and Vol. 2 MOV/PUSH/JMP exceptions): a
; non-canonical data address -> #GP(0), one referencing SS (RBP base, PUSH)
; -> #SS(0), a non-canonical JMP target -> #GP(0) at the JMP.
; Interrupts (Vol. 3 §6.14.2-6.14.5): 16-byte gates; RSP aligned to 16 before
; the frame; SS:RSP always pushed; IST n takes RSP from the TSS's IST slot
; (also at the same privilege level, SS unchanged).
; Paging (§4.5): 4-level walk, bits 62:52 of an entry ignored, bits
; 51:MAXPHYADDR reserved (#PF RSVD), XD with NXE, A/D on a 2 MiB page, a
; 64-bit CR2 for an upper-half address.
; FS/GS: FS_BASE/GS_BASE/KERNEL_GS_BASE MSRs (C0000100h-C0000102h), SWAPGS
; swaps GS_BASE and KERNEL_GS_BASE (#GP(0) at CPL3), a segment load sets the
; base from the descriptor, WRMSR of a non-canonical base -> #GP(0).
; SYSCALL/SYSRET (Vol. 2): STAR[47:32] = kernel CS (SS = +8), STAR[63:48] =
; user base (64-bit: CS = +16, SS = +8; compat: CS = base, SS = +8), LSTAR /
; CSTAR targets, RCX = next RIP, R11 = RFLAGS, RFLAGS &= ~SFMASK, RSP
; unchanged; SYSRET: RFLAGS = R11, #GP(0) for a non-canonical RCX or at CPL3;
; SYSCALL with EFER.SCE = 0 -> #UD. IRETQ to ring 3.
; Compatibility mode (L = 0, D = 1): 32-bit operands, 40h-4Fh are INC/DEC.
; Exit (§10.8.5.4): to compatibility mode, CR0.PG = 0 (LMA cleared), EFER.LME
; = 0, then 32-bit protected mode works (INT n through a 32-bit IDT) and
; finally real mode.

%define TEST_NAME 'long_mode'
%define PM_LONG
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
v_efer:         resq 1
v_efer2:        resq 1
v_efer3:        resq 1
v_rsp:          resq 1
v_tmp:          resq 1
gs_a:           resq 2
gs_b:           resq 2
fs_c:           resq 2
u_cs:           resq 1
u_ss:           resq 1
u_rsp:          resq 1
u_rflags:       resq 1
u_rflags2:      resq 1
u_rsp2:         resq 1
k_rcx:          resq 1
k_r11:          resq 1
k_rsp:          resq 1
k_rflags:       resq 1
k_cs:           resq 1
k_ss:           resq 1
k_count:        resq 1
uc_cs:          resq 1
uc_dec:         resq 1
uc_esp:         resq 1
uc_esp2:        resq 1
kc_rcx:         resq 1
kc_count:       resq 1
ui_marker:      resq 1
ui_rsp:         resq 1
ui_cs:          resq 1
c0_cs:          resq 1
c0_dec:         resq 1
c0_esp:         resq 1
c0_esp2:        resq 1
maxphy:         resq 1
section .text

PML4            equ 0x20000
PDPT            equ 0x21000
PD              equ 0x22000
PT              equ 0x23000         ; 4 KiB pages for 0x200000-0x3FFFFF
TSS64           equ 0x3100
PG_P            equ 0x001
PG_RW           equ 0x002
PG_US           equ 0x004
PG_A            equ 0x020
PG_D            equ 0x040
PG_PS           equ 0x080
MSR_STAR        equ 0xC0000081
MSR_LSTAR       equ 0xC0000082
MSR_CSTAR       equ 0xC0000083
MSR_SFMASK      equ 0xC0000084
MSR_FS_BASE     equ 0xC0000100
MSR_GS_BASE     equ 0xC0000101
MSR_KGS_BASE    equ 0xC0000102
NONCANON        equ 0x0000800000000000
U_STACK         equ 0x4F00

main:
        INIT
        call    pm_setup
        SETDESC SEL_TSS64, TSS64, 0x67, ACC_TSS32, 0   ; type 9: available 64-bit TSS in IA-32e mode
        mov     dword [GDT_BASE + SEL_TSS64 + 8], 0
        mov     dword [GDT_BASE + SEL_TSS64 + 12], 0
        ENTER_PM32
        PM_CLEAR_TEST_VARS
        mov     eax, 0x80000008
        cpuid
        movzx   eax, al
        mov     [maxphy], eax

; ---- 4-level tables: 0-1 GiB identity with 2 MiB user pages, 2-4 MiB through a page table --------
        xor     eax, eax
        mov     edi, PML4
        mov     ecx, 0x4000 / 4
        rep stosd
        mov     dword [PML4], PDPT | PG_P | PG_RW | PG_US
        mov     dword [PDPT], PD | PG_P | PG_RW | PG_US
        mov     edi, PD
        mov     eax, PG_PS | PG_P | PG_RW | PG_US
        mov     ecx, 512
.pd:    mov     [edi], eax
        add     eax, 0x200000
        add     edi, 8
        dec     ecx
        jnz     .pd
        mov     dword [PD + 8], PT | PG_P | PG_RW | PG_US
        mov     edi, PT
        mov     eax, 0x200000 | PG_P | PG_RW | PG_US
        mov     ecx, 512
.pt:    mov     [edi], eax
        add     eax, 0x1000
        add     edi, 8
        dec     ecx
        jnz     .pt
        or      dword [PT + 0x10 * 8 + 4], 1 << (52 - 32)      ; 0x210000: bit 52 (ignored)
        mov     ecx, [maxphy]
        sub     ecx, 32
        mov     eax, 1
        shl     eax, cl
        or      [PT + 0x11 * 8 + 4], eax                        ; 0x211000: bit MAXPHYADDR (reserved)
        or      dword [PT + 0x12 * 8 + 4], 0x80000000           ; 0x212000: XD
        mov     byte [0x212000], 0xC3
        mov     dword [0x210000], 0x52525252

        ; 64-bit TSS: RSP0, IST1 (aligned), IST2 (8 mod 16), no I/O bitmap
        mov     dword [TSS64 + 0x04], STACK0_TOP
        mov     dword [TSS64 + 0x24], 0x6800
        mov     dword [TSS64 + 0x2C], 0x6F08
        mov     word [TSS64 + 0x66], 0x68

; ---- into long mode -------------------------------------------------------------------------
        mov     ecx, EFER_MSR
        rdmsr
        or      eax, EFER_LME
        wrmsr
        mov     eax, PML4
        mov     cr3, eax
        TRY
        mov     eax, cr0
        or      eax, CR0_PG
        AT
        mov     cr0, eax
        EXPECT_EXC 'CR0.PG = 1 with EFER.LME = 1 and CR4.PAE = 0', 13, 0
        mov     eax, cr4
        or      eax, CR4_PAE
        mov     cr4, eax
        mov     ecx, EFER_MSR
        rdmsr
        or      eax, EFER_NXE | EFER_SCE
        wrmsr
        call    pm_build_idt64                  ; nothing may fault from here to LIDT below
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax                        ; IA-32e mode, compatibility mode for now
        mov     ecx, EFER_MSR
        rdmsr
        mov     [v_efer], eax
        jmp     SEL_CODE64:long64

bits 64
long64:
        lgdt    [pm_gdtr64]
        lidt    [pm_idtr64]
        mov     ax, SEL_TSS64
        ltr     ax
        mov     esp, esp                        ; RSP[63:32] = 0
        mov     rax, [v_efer]
        and     rax, EFER_LME | EFER_LMA
        CHECK64 rax, EFER_LME | EFER_LMA, 'EFER.LMA set by CR0.PG'
        mov     ax, cs
        movzx   eax, ax
        CHECK64 rax, SEL_CODE64, '64-bit mode: CS'
        movzx   eax, byte [GDT_BASE + SEL_TSS64 + 5]
        and     eax, 0xF
        CHECK64 rax, 0xB, 'LTR: 64-bit TSS busy (type 11)'

; ---- 64-bit registers, REX, RIP-relative ---------------------------------------------------------
        mov     rax, 0x123456789ABCDEF0
        mov     r15, rax
        shr     r15, 32
        CHECK64 r15, 0x12345678, 'r15 = rax >> 32'
        mov     eax, 0xFFFFFFFF                 ; a 32-bit write zero-extends
        CHECK64 rax, 0xFFFFFFFF, 'mov eax zero-extends'
        mov     rax, -1
        mov     ax, 0x1234                      ; a 16-bit write does not
        CHECK64 rax, 0xFFFFFFFFFFFF1234, 'mov ax keeps rax[63:16]'
        xor     esi, esi
        mov     sil, 0x80                       ; REX: SIL, not DH
        CHECK64 rsi, 0x80, 'mov sil (REX byte register)'
        mov     eax, 0x1111
        mov     ah, 0x22
        CHECK64 rax, 0x2211, 'mov ah (no REX)'
        mov     r8, 0x8888888888888888
        mov     r8b, 0x11
        CHECK64 r8, 0x8888888888888811, 'mov r8b'
        mov     dword [v_tmp], 0x80000000
        movsxd  rax, dword [v_tmp]
        CHECK64 rax, 0xFFFFFFFF80000000, 'movsxd'
        mov     rbx, rsp
        push    rax
        sub     rbx, rsp
        pop     rax
        CHECK64 rbx, 8, 'push in 64-bit mode moves RSP by'
.here:  lea     rax, [rel .here]
        CHECK64 rax, .here, 'lea rax, [rel $]'
        mov     rax, [rel qdata]
        CHECK64 rax, 0x0123456789ABCDEF, 'mov rax, [rel qdata]'
        lea     rbx, [rel qdata + 8]
        mov     r9, 0x0FEDCBA987654321
        mov     [rbx], r9                       ; a qword in the code page (rewritten below)
        mov     rax, [rel qdata + 8]
        CHECK64 rax, 0x0FEDCBA987654321, 'mov rax, [rel qdata+8] after a store'

; ---- canonical addresses ------------------------------------------------------------------------
        TRY64
        mov     rax, NONCANON
        AT
        mov     rbx, [rax]
        EXPECT_EXC64 'read at 0000800000000000', 13, 0

        TRY64
        mov     rax, 0xFFFF7FFFFFFFFFF8
        AT
        mov     qword [rax], 1
        EXPECT_EXC64 'write at FFFF7FFFFFFFFFF8', 13, 0

        TRY64
        mov     rbp, NONCANON
        AT
        mov     rbx, [rbp + 8]
        EXPECT_EXC64 '[rbp] non-canonical (SS)', 12, 0

        TRY64
        mov     rax, NONCANON
        AT
        jmp     rax
        EXPECT_EXC64 'jmp to a non-canonical address', 13, 0

        SETIDT64_STUB 12, GATE_INT32, 1         ; #SS on IST1: the faulting RSP is unusable
        TRY64
        mov     rsp, NONCANON + 8
        AT
        push    rax
        EXPECT_EXC64 'push with a non-canonical RSP', 12, 0
        CHECK64 qword [exc_esp], NONCANON + 8, 'push with a non-canonical RSP: pushed RSP'
        CHECK64 qword [exc_hesp], 0x6800 - 40, 'push with a non-canonical RSP: frame on IST1'

; ---- 64-bit gates: IST, alignment, SS:RSP ----------------------------------------------------
        SETIDT64_STUB 0x41, GATE_INT32, 2       ; IST2 = 0x6F08: aligned down to 0x6F00
        TRY64
        mov     [v_rsp], rsp
        int     0x41
.after41:
        EXPECT_EXC64_RIP 'int 41h (IST2)', 0x41, -1, .after41
        CHECK64 qword [exc_hesp], 0x6F00 - 40, 'int 41h: frame at IST2 aligned to 16'
        CHECK64 qword [exc_esp], [v_rsp], 'int 41h: pushed RSP'
        CHECK64 qword [exc_ss], SEL_DATA32, 'int 41h: pushed SS'
        CHECK64 qword [exc_hss], SEL_DATA32, 'int 41h: SS unchanged (same privilege)'
        CHECK64 qword [exc_cs], SEL_CODE64, 'int 41h: pushed CS'

        TRY64
        mov     rax, rsp
        and     rax, ~0xF
        sub     rax, 8                          ; RSP = 8 mod 16
        mov     rsp, rax
        mov     [v_rsp], rax
        int     0x40
.after40:
        EXPECT_EXC64_RIP 'int 40h (no IST)', 0x40, -1, .after40
        mov     rax, [v_rsp]
        sub     rax, 8 + 40
        CHECK64 qword [exc_hesp], rax, 'int 40h: frame below RSP aligned to 16'
        CHECK64 qword [exc_esp], [v_rsp], 'int 40h: pushed RSP (unaligned original)'

; ---- paging ------------------------------------------------------------------------------------
        CHECK64 qword [0x210000], 0x52525252, 'PTE bit 52 is ignored'
        TRY64
        AT
        mov     rax, [0x211008]
        EXPECT_EXC64 'PTE bit MAXPHYADDR set', 14, 0x09
        CHECK64 qword [exc_cr2], 0x211008, 'PTE bit MAXPHYADDR set: CR2'
        TRY64
        mov     eax, 0x212000
        call    rax
        EXPECT_EXC64_RIP 'fetch from an XD page', 14, 0x11, 0x212000
        TRY64
        mov     rax, 0xFFFF800000001234         ; PML4 entry 256: not present
        AT
        mov     rbx, [rax]
        EXPECT_EXC64 'read in the upper half, not present', 14, 0
        mov     rax, 0xFFFF800000001234
        CHECK64 qword [exc_cr2], rax, 'upper half: 64-bit CR2'
        CHECK64 qword [PD + 2 * 8], 0x400000 | PG_PS | PG_P | PG_RW | PG_US, '2 MiB PDE before access'
        mov     rax, [0x400010]
        CHECK64 qword [PD + 2 * 8], 0x400000 | PG_PS | PG_A | PG_P | PG_RW | PG_US, '2 MiB PDE after a read'
        mov     [0x400010], rax
        CHECK64 qword [PD + 2 * 8], 0x400000 | PG_PS | PG_D | PG_A | PG_P | PG_RW | PG_US, '2 MiB PDE after a write'
        mov     rax, [PML4]
        and     eax, PG_A
        CHECK64 rax, PG_A, 'PML4E accessed'

; ---- control register and EFER rules in long mode ------------------------------------------------
        TRY64
        mov     rax, cr4
        and     rax, ~CR4_PAE
        AT
        mov     cr4, rax
        EXPECT_EXC64 'clear CR4.PAE in long mode', 13, 0
        TRY64
        mov     ecx, EFER_MSR
        rdmsr
        and     eax, ~EFER_LME
        AT
        wrmsr
        EXPECT_EXC64 'clear EFER.LME with paging on', 13, 0

; ---- FS/GS bases and SWAPGS ---------------------------------------------------------------------
        mov     rax, 0xAAAAAAAA11111111
        mov     [gs_a], rax
        mov     rax, 0xBBBBBBBB22222222
        mov     [gs_b], rax
        mov     rax, 0xCCCCCCCC33333333
        mov     [fs_c + 8], rax
        mov     ecx, MSR_GS_BASE
        mov     eax, gs_a
        xor     edx, edx
        wrmsr
        mov     ecx, MSR_KGS_BASE
        mov     eax, gs_b
        wrmsr
        mov     ecx, MSR_FS_BASE
        mov     eax, fs_c
        wrmsr
        mov     rax, [gs:0]
        CHECK64 rax, 0xAAAAAAAA11111111, '[gs:0] with GS_BASE'
        mov     rax, [fs:8]
        CHECK64 rax, 0xCCCCCCCC33333333, '[fs:8] with FS_BASE'
        swapgs
        mov     rax, [gs:0]
        CHECK64 rax, 0xBBBBBBBB22222222, '[gs:0] after SWAPGS'
        mov     ecx, MSR_GS_BASE
        rdmsr
        CHECK64 rax, gs_b, 'GS_BASE after SWAPGS'
        mov     ecx, MSR_KGS_BASE
        rdmsr
        CHECK64 rax, gs_a, 'KERNEL_GS_BASE after SWAPGS'
        swapgs
        mov     rax, [gs:0]
        CHECK64 rax, 0xAAAAAAAA11111111, '[gs:0] after the second SWAPGS'
        mov     ax, SEL_DATA32
        mov     fs, ax                          ; base from the descriptor: 0
        mov     ecx, MSR_FS_BASE
        rdmsr
        shl     rdx, 32
        or      rax, rdx
        CHECK64 rax, 0, 'FS_BASE after MOV FS'
        TRY64
        mov     ecx, MSR_FS_BASE
        xor     eax, eax
        mov     edx, 0x00008000                 ; 0000800000000000
        AT
        wrmsr
        EXPECT_EXC64 'wrmsr FS_BASE non-canonical', 13, 0

; ---- SYSCALL / SYSRET ---------------------------------------------------------------------------
        mov     ecx, MSR_STAR
        xor     eax, eax
        mov     edx, 0x00500040                 ; SYSRET base 50h, SYSCALL CS 40h
        wrmsr
        mov     ecx, MSR_LSTAR
        mov     eax, syscall64
        xor     edx, edx
        wrmsr
        mov     ecx, MSR_CSTAR
        mov     eax, syscall_compat
        wrmsr
        mov     ecx, MSR_SFMASK
        mov     eax, 0x40600                    ; AC, DF, IF
        wrmsr

        ARM_RESUME64 .sys_fault
        mov     qword [r3_back_eip], .sys_back
        mov     [r3_back_esp], rsp
        mov     rsp, U_STACK
        mov     rcx, user64
        mov     r11, 0x202
        o64 sysret
.sys_fault:
        FAIL64  'syscall/sysret round trip (64-bit) faulted'
        jmp     .sys_done
.sys_back:
        DISARM64
        CHECK64 qword [u_cs], SEL_CODE64_R3, 'sysret (64): CS = STAR[63:48] + 16, RPL 3'
        CHECK64 qword [u_ss], SEL_DATA64_R3, 'sysret (64): SS = STAR[63:48] + 8, RPL 3'
        CHECK64 qword [u_rsp], U_STACK, 'sysret (64): RSP unchanged'
        CHECK64 qword [u_rflags], 0x202, 'sysret (64): RFLAGS = R11'
        CHECK64 qword [k_count], 1, 'syscall (64): kernel entry ran once'
        CHECK64 qword [k_rcx], user64.ret, 'syscall (64): RCX = next RIP'
        CHECK64 qword [k_r11], 0x603, 'syscall (64): R11 = RFLAGS (IF DF CF)'
        CHECK64 qword [k_rflags], 0x003, 'syscall (64): RFLAGS masked by SFMASK'
        CHECK64 qword [k_cs], SEL_CODE64, 'syscall (64): CS = STAR[47:32]'
        CHECK64 qword [k_ss], SEL_DATA64, 'syscall (64): SS = STAR[47:32] + 8'
        CHECK64 qword [k_rsp], U_STACK, 'syscall (64): RSP unchanged'
        CHECK64 qword [u_rflags2], 0x603, 'sysret (64) back: RFLAGS = R11'
        CHECK64 qword [u_rsp2], U_STACK, 'sysret (64) back: RSP'
.sys_done:

        ; SYSRET (32-bit form) to compatibility mode; there SYSCALL is #UD on Intel processors
        ; (SDM Vol. 2 SYSCALL: "#UD if CS.L != 1", compatibility-mode exceptions).
        TRY64
        mov     qword [r3_back_eip], .sysc_back
        mov     [r3_back_esp], rsp
        mov     rsp, U_STACK - 0x100
        mov     ecx, user_compat
        mov     r11d, 0x202
        sysret
.sysc_back:
        EXPECT_EXC64_RIP 'syscall in compatibility mode', 6, -1, user_compat.syscall
        CHECK64 qword [exc_cs], SEL_CODE32C_R3, 'sysret (32): CS = STAR[63:48], RPL 3'
        CHECK64 qword [exc_ss], SEL_DATA64_R3, 'sysret (32): SS = STAR[63:48] + 8, RPL 3'
        CHECK64 qword [uc_cs], SEL_CODE32C_R3, 'compat user: CS'
        CHECK64 qword [uc_dec], 4, 'compat user: 48h is DEC EAX'
        mov     rax, [uc_esp]
        sub     rax, 4
        CHECK64 qword [uc_esp2], rax, 'compat user: PUSH EAX moves ESP by 4'
        CHECK64 qword [uc_esp], U_STACK - 0x100, 'compat user: ESP (unchanged by SYSRET)'
        CHECK64 qword [kc_count], 0, 'syscall in compatibility mode reached CSTAR'

        TRY64
        mov     rcx, NONCANON
        mov     r11, 0x202
        AT
        o64 sysret
        EXPECT_EXC64 'sysret (64) with a non-canonical RCX', 13, 0

        mov     ecx, EFER_MSR
        rdmsr
        and     eax, ~EFER_SCE
        wrmsr
        TRY64
        AT
        syscall
        EXPECT_EXC64 'syscall with EFER.SCE = 0', 6, -1
        mov     ecx, EFER_MSR
        rdmsr
        or      eax, EFER_SCE
        wrmsr

        ; ring 3 (entered by SYSRET): SYSRET and SWAPGS are #GP(0)
        TRY64
        mov     qword [r3_back_eip], .r3a_back
        mov     [r3_back_esp], rsp
        mov     rsp, U_STACK
        mov     rcx, .r3a
        mov     r11, 0x202
        o64 sysret
.r3a:
        AT
        o64 sysret
        int     PM_VEC_EXIT
.r3a_back:
        EXPECT_EXC64 'sysret at CPL3', 13, 0
        CHECK64 qword [exc_cs], SEL_CODE64_R3, 'sysret at CPL3: pushed CS'
        CHECK64 qword [exc_hesp], STACK0_TOP - 40, 'sysret at CPL3: frame on TSS.RSP0'
        CHECK64 qword [exc_ss], SEL_DATA64_R3, 'sysret at CPL3: pushed SS'

        TRY64
        mov     qword [r3_back_eip], .r3b_back
        mov     [r3_back_esp], rsp
        mov     rsp, U_STACK
        mov     rcx, .r3b
        mov     r11, 0x202
        o64 sysret
.r3b:
        AT
        swapgs
        int     PM_VEC_EXIT
.r3b_back:
        EXPECT_EXC64 'swapgs at CPL3', 13, 0

        ; IRETQ to ring 3 (64-bit)
        mov     qword [ui_marker], 0
        ARM_RESUME64 .iretq_fault
        mov     qword [r3_back_eip], .iretq_back
        mov     [r3_back_esp], rsp
        push    SEL_DATA64_R3
        push    U_STACK - 0x200
        push    0x202
        push    SEL_CODE64_R3
        push    user_iret
        iretq
.iretq_fault:
        FAIL64  'iretq to ring 3 faulted'
        jmp     .iretq_done
.iretq_back:
        DISARM64
        CHECK64 qword [ui_marker], 0x600DCAFE, 'iretq to ring 3: code ran'
        CHECK64 qword [ui_rsp], U_STACK - 0x200, 'iretq to ring 3: RSP'
        CHECK64 qword [ui_cs], SEL_CODE64_R3, 'iretq to ring 3: CS'
.iretq_done:

; ---- compatibility mode at ring 0 -------------------------------------------------------------
        mov     ax, SEL_DATA32
        mov     ss, ax                          ; a null SS is only fine in 64-bit mode
        mov     ds, ax
        mov     es, ax
        ARM_RESUME64 .c0_fault
        push    SEL_CODE32
        push    compat0
        o64 retf
.c0_fault:
        FAIL64  'compatibility mode at ring 0 faulted'
        jmp     .c0_done
.c0_back:
        DISARM64
        CHECK64 qword [c0_cs], SEL_CODE32, 'compat ring 0: CS'
        CHECK64 qword [c0_dec], 4, 'compat ring 0: 48h is DEC EAX'
        mov     rax, [c0_esp]
        sub     rax, 4
        CHECK64 qword [c0_esp2], rax, 'compat ring 0: PUSH EAX moves ESP by 4'
.c0_done:

; ---- out of long mode ----------------------------------------------------------------------------
        mov     ax, SEL_DATA32
        mov     ss, ax
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        push    SEL_CODE32
        push    leave32
        o64 retf

; ---- ring-3 and kernel entry code -------------------------------------------------------------
user64:
        mov     ax, cs
        movzx   eax, ax
        mov     [u_cs], rax
        mov     ax, ss
        movzx   eax, ax
        mov     [u_ss], rax
        mov     [u_rsp], rsp
        pushfq
        pop     qword [u_rflags]
        stc
        std
        syscall
.ret:   pushfq
        pop     qword [u_rflags2]
        cld
        mov     [u_rsp2], rsp
        int     PM_VEC_EXIT

syscall64:
        mov     [k_rcx], rcx
        mov     [k_r11], r11
        mov     [k_rsp], rsp
        pushfq
        pop     qword [k_rflags]
        mov     ax, cs
        movzx   eax, ax
        mov     [k_cs], rax
        mov     ax, ss
        movzx   eax, ax
        mov     [k_ss], rax
        inc     qword [k_count]
        o64 sysret

syscall_compat:
        mov     [kc_rcx], rcx
        inc     qword [kc_count]
        sysret                                  ; 32-bit form: back to compatibility mode

user_iret:
        mov     qword [ui_marker], 0x600DCAFE
        mov     [ui_rsp], rsp
        mov     ax, cs
        movzx   eax, ax
        mov     [ui_cs], rax
        int     PM_VEC_EXIT

qdata:  dq      0x0123456789ABCDEF
        dq      0

bits 32
user_compat:
        mov     ax, SEL_DATA64_R3
        mov     ds, ax
        mov     es, ax
        mov     ax, cs
        movzx   eax, ax
        mov     [uc_cs], eax
        mov     eax, 5
        db      0x48                            ; DEC EAX in compatibility mode
        mov     [uc_dec], eax
        mov     [uc_esp], esp
        push    eax
        mov     [uc_esp2], esp
        pop     eax
.syscall:
        syscall
        int     PM_VEC_EXIT

compat0:
        mov     ax, cs
        movzx   eax, ax
        mov     [c0_cs], eax
        mov     eax, 5
        db      0x48                            ; DEC EAX
        mov     [c0_dec], eax
        mov     [c0_esp], esp
        push    eax
        mov     [c0_esp2], esp
        pop     eax
        jmp     SEL_CODE64:long64.c0_back

; Back in compatibility mode at ring 0: leave IA-32e mode (SDM Vol. 3 §10.8.5.4).
leave32:
        mov     eax, cr0
        and     eax, ~CR0_PG
        mov     cr0, eax                        ; LMA = 0: legacy 32-bit protected mode
        mov     ecx, EFER_MSR
        rdmsr
        mov     [v_efer2], eax
        and     eax, ~EFER_LME
        wrmsr
        rdmsr
        mov     [v_efer3], eax
        mov     eax, cr4
        and     eax, ~CR4_PAE
        mov     cr4, eax
        call    pm_build_idt32
        lidt    [pm_idtr32]
        and     byte [GDT_BASE + SEL_TSS + 5], ~2
        mov     ax, SEL_TSS
        ltr     ax
        CHECK32M dword [v_efer2], EFER_LMA | EFER_LME, EFER_LME, 'after CR0.PG = 0: LMA clear, LME set'
        CHECK32M dword [v_efer3], EFER_LMA | EFER_LME, 0, 'after WRMSR: LME clear'
        mov     eax, cr0
        CHECK32M eax, CR0_PG | CR0_PE, CR0_PE, 'legacy protected mode: CR0'
        ARM_SKIP 0
        int     0x60
.after60:
        DISARM
        CAUGHT  '32-bit PM after long mode: int 60h', 0x60, -1, .after60
        CHECK32 dword [exc_cs], SEL_CODE32, '32-bit PM after long mode: int 60h pushed CS'
        LEAVE_PM32
        smsw    ax
        EXPECTW ax, 0x0010, 'real mode after long mode: MSW'
        mov     ecx, EFER_MSR
        rdmsr
        and     eax, EFER_LMA | EFER_LME
        EXPECTD eax, 0, 'real mode after long mode: EFER LME/LMA'
        FINISH
