; cpuid_msr: CPUID feature reporting for the system features, and MSR access rules.
;
; CPUID (SDM Vol. 2 CPUID, Table 3-8): leaf 01H EDX PSE (3), TSC (4), MSR (5),
; PAE (6), CX8 (8), SEP (11), CMOV (15); leaf 80000000H EAX >= 80000008H;
; leaf 80000001H EDX SYSCALL (11), NX (20), LM (29); leaf 80000008H EAX[7:0]
; physical address bits (36..52), EAX[15:8] linear address bits (48).
; RDMSR/WRMSR (SDM Vol. 2; Vol. 4): an unimplemented MSR -> #GP(0) for both;
; IA32_EFER (C0000080H) reads 0 after reset, SCE/NXE write and read back,
; a reserved EFER bit -> #GP(0); STAR reads back all 64 bits; LSTAR,
; SYSENTER_EIP, FS_BASE take only canonical values (#GP(0) otherwise); the
; TSC MSR (10H) moves forward with RDTSC; RDTSCP returns IA32_TSC_AUX
; (C0000103H) in ECX when CPUID.80000001H:EDX[27] says RDTSCP exists; RDMSR
; works in real mode. SYSCALL, SYSRET and SWAPGS are #UD outside 64-bit mode
; (Intel: "#UD if CS.L != 1 or EFER.LMA != 1 or EFER.SCE != 1").

%define TEST_NAME 'cpuid_msr'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
r_eax:          resd 1
r_ebx:          resd 1
r_ecx:          resd 1
r_edx:          resd 1
t1:             resq 1
t2:             resq 1
rm_efer:        resd 2
section .text

MSR_TSC         equ 0x10
MSR_SYSENTER_EIP equ 0x176
MSR_STAR        equ 0xC0000081
MSR_LSTAR       equ 0xC0000082
MSR_FS_BASE     equ 0xC0000100
MSR_TSC_AUX     equ 0xC0000103

%macro CPUID_TO 1
        mov     eax, %1
        xor     ecx, ecx
        cpuid
        mov     [r_eax], eax
        mov     [r_ebx], ebx
        mov     [r_ecx], ecx
        mov     [r_edx], edx
%endmacro

%macro CHECK_BIT 3                      ; variable, bit, label
        CHECK32M dword [%1], 1 << (%2), 1 << (%2), %3
%endmacro

main:
        INIT
        ; RDMSR in real mode (CPL 0): EFER is 0 after reset
        mov     ecx, EFER_MSR
        rdmsr
        mov     [rm_efer], eax
        mov     [rm_efer + 4], edx
        EXPECTD [rm_efer], 0, 'real mode: rdmsr EFER (low)'
        EXPECTD [rm_efer + 4], 0, 'real mode: rdmsr EFER (high)'
        call    pm_setup
        ENTER_PM32

; ---- CPUID ---------------------------------------------------------------------------------------
        CPUID_TO 1
        CHECK_BIT r_edx, 3, 'CPUID.01H:EDX.PSE'
        CHECK_BIT r_edx, 4, 'CPUID.01H:EDX.TSC'
        CHECK_BIT r_edx, 5, 'CPUID.01H:EDX.MSR'
        CHECK_BIT r_edx, 6, 'CPUID.01H:EDX.PAE'
        CHECK_BIT r_edx, 8, 'CPUID.01H:EDX.CX8'
        CHECK_BIT r_edx, 11, 'CPUID.01H:EDX.SEP'
        CHECK_BIT r_edx, 15, 'CPUID.01H:EDX.CMOV'
        CPUID_TO 0x80000000
        mov     eax, [r_eax]
        cmp     eax, 0x80000008
        jae     .ext_ok
        FAIL32  'CPUID.80000000H:EAX below 80000008H'
.ext_ok:
        CPUID_TO 0x80000001
        CHECK_BIT r_edx, 11, 'CPUID.80000001H:EDX.SYSCALL'
        CHECK_BIT r_edx, 20, 'CPUID.80000001H:EDX.NX'
        CHECK_BIT r_edx, 29, 'CPUID.80000001H:EDX.LM'
        CPUID_TO 0x80000008
        CHECK32M dword [r_eax], 0xFF00, 48 << 8, 'CPUID.80000008H: linear address bits'
        movzx   eax, byte [r_eax]
        cmp     eax, 36
        jb      .phy_bad
        cmp     eax, 52
        jbe     .phy_ok
.phy_bad:
        FAIL32  'CPUID.80000008H: physical address bits outside 36..52'
.phy_ok:

; ---- unknown MSRs ----------------------------------------------------------------------------
        TRY
        mov     ecx, 0x12345678
        AT
        rdmsr
        EXPECT_EXC 'rdmsr 12345678h', 13, 0

        TRY
        mov     ecx, 0x12345678
        xor     eax, eax
        xor     edx, edx
        AT
        wrmsr
        EXPECT_EXC 'wrmsr 12345678h', 13, 0

        TRY
        mov     ecx, 0xC0001234
        AT
        rdmsr
        EXPECT_EXC 'rdmsr C0001234h', 13, 0

; ---- EFER ----------------------------------------------------------------------------------------
        mov     ecx, EFER_MSR
        mov     eax, EFER_SCE | EFER_NXE
        xor     edx, edx
        wrmsr
        rdmsr
        CHECK32 eax, EFER_SCE | EFER_NXE, 'EFER after writing SCE and NXE'
        CHECK32 edx, 0, 'EFER high half'
        TRY
        mov     ecx, EFER_MSR
        mov     eax, EFER_SCE | 2               ; bit 1 is reserved
        xor     edx, edx
        AT
        wrmsr
        EXPECT_EXC 'wrmsr EFER with reserved bit 1', 13, 0
        TRY
        mov     ecx, EFER_MSR
        mov     eax, EFER_SCE
        mov     edx, 1                          ; bit 32 is reserved
        AT
        wrmsr
        EXPECT_EXC 'wrmsr EFER with reserved bit 32', 13, 0
        mov     ecx, EFER_MSR
        rdmsr
        CHECK32 eax, EFER_SCE | EFER_NXE, 'EFER unchanged by the faulting writes'
        xor     eax, eax
        xor     edx, edx
        wrmsr

; ---- SYSCALL / SYSRET / SWAPGS outside 64-bit mode: #UD (Intel; even with EFER.SCE = 1) --------
        mov     ecx, EFER_MSR
        mov     eax, EFER_SCE
        xor     edx, edx
        wrmsr
        TRY
        AT
        db      0x0F, 0x05                      ; syscall
        EXPECT_EXC 'syscall in 32-bit protected mode', 6, -1
        TRY
        AT
        db      0x0F, 0x07                      ; sysret
        EXPECT_EXC 'sysret in 32-bit protected mode', 6, -1
        TRY
        AT
        db      0x0F, 0x01, 0xF8                ; swapgs
        EXPECT_EXC 'swapgs in 32-bit protected mode', 6, -1
        mov     ecx, EFER_MSR
        xor     eax, eax
        xor     edx, edx
        wrmsr

; ---- 64-bit MSR values ---------------------------------------------------------------------------
        mov     ecx, MSR_STAR
        mov     eax, 0x89ABCDEF
        mov     edx, 0x00230010
        wrmsr
        xor     eax, eax
        xor     edx, edx
        rdmsr
        CHECK32 eax, 0x89ABCDEF, 'STAR low'
        CHECK32 edx, 0x00230010, 'STAR high'

        mov     ecx, MSR_LSTAR
        mov     eax, 0x12345678
        mov     edx, 0xFFFF8000                 ; canonical upper half
        wrmsr
        xor     eax, eax
        xor     edx, edx
        rdmsr
        CHECK32 eax, 0x12345678, 'LSTAR low'
        CHECK32 edx, 0xFFFF8000, 'LSTAR high'
        TRY
        mov     ecx, MSR_LSTAR
        xor     eax, eax
        mov     edx, 0x00008000                 ; 0000800000000000: not canonical
        AT
        wrmsr
        EXPECT_EXC 'wrmsr LSTAR non-canonical', 13, 0
        TRY
        mov     ecx, MSR_SYSENTER_EIP
        xor     eax, eax
        mov     edx, 0xFFFF0000                 ; FFFF000000000000: not canonical
        AT
        wrmsr
        EXPECT_EXC 'wrmsr SYSENTER_EIP non-canonical', 13, 0
        TRY
        mov     ecx, MSR_FS_BASE
        xor     eax, eax
        mov     edx, 0x80000000
        AT
        wrmsr
        EXPECT_EXC 'wrmsr FS_BASE non-canonical', 13, 0

; ---- TSC --------------------------------------------------------------------------------------
        rdtsc
        mov     [t1], eax
        mov     [t1 + 4], edx
        mov     ecx, MSR_TSC
        rdmsr
        mov     [t2], eax
        mov     [t2 + 4], edx
        mov     eax, [t2]
        mov     edx, [t2 + 4]
        sub     eax, [t1]
        sbb     edx, [t1 + 4]
        jns     .tsc_ok
        FAIL32  'rdmsr 10h (TSC) went backwards from rdtsc'
.tsc_ok:
        CPUID_TO 0x80000001
        test    dword [r_edx], 1 << 27
        jz      .no_rdtscp
        mov     ecx, MSR_TSC_AUX
        mov     eax, 0x1234
        xor     edx, edx
        wrmsr
        xor     ecx, ecx
        db      0x0F, 0x01, 0xF9                ; rdtscp
        CHECK32 ecx, 0x1234, 'rdtscp: ECX = IA32_TSC_AUX'
.no_rdtscp:

        FINISH32
