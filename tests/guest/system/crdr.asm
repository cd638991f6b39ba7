; crdr: control and debug register rules.
;
; SDM Vol. 2 MOV (control registers): CR0.PG = 1 with PE = 0 -> #GP(0);
; CR0.NW = 1 with CD = 0 -> #GP(0); CR0.ET is fixed at 1 (Vol. 3 §2.5);
; CR1, CR5-CR7 -> #UD; CR4 reserved or unsupported bits (bit 15, bit 31, VME
; without CPUID.01H:EDX.VME) -> #GP(0); in 64-bit mode bits 63:32 of CR0/CR4
; -> #GP(0); CR8 reads back the TPR (bits 3:0), other bits -> #GP(0).
; LMSW loads only bits 3:0 and cannot clear PE; CLTS clears TS; SMSW, SGDT and
; SIDT work at CPL3 (no UMIP).
; Debug registers (Vol. 2 MOV DR, Vol. 3 §17.2): DR0-DR3 read back; DR6 bits
; 4-11 and 16-31 read as 1 and bit 12 as 0; DR7 bit 10 reads as 1; with CR4.DE
; = 0 DR4/DR5 alias DR6/DR7, with CR4.DE = 1 they are #UD; DR7.GD = 1 makes the
; next MOV DR a #DB fault (DR6.BD = bit 13) with GD cleared on entry; in
; 64-bit mode a 1 in bits 63:32 of DR6/DR7 -> #GP(0).

%define TEST_NAME 'crdr'
%define PM_LONG
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
r3_msw:         resd 1
r3_gdt:         resb 6
r3_idt:         resb 6
                resd 1
cpuid1_edx:     resd 1
dr7_in_db:      resd 1
section .text

main:
        INIT
        call    pm_setup
        ENTER_PM32
        mov     eax, 1
        cpuid
        mov     [cpuid1_edx], edx

; ---- CR0 ------------------------------------------------------------------------------------------
        TRY
        mov     eax, cr0
        and     eax, ~CR0_PE
        or      eax, CR0_PG
        AT
        mov     cr0, eax
        EXPECT_EXC 'CR0: PG = 1 with PE = 0', 13, 0

        TRY
        mov     eax, cr0
        and     eax, ~0x40000000                ; CD = 0
        or      eax, 0x20000000                 ; NW = 1
        AT
        mov     cr0, eax
        EXPECT_EXC 'CR0: NW = 1 with CD = 0', 13, 0

        mov     eax, cr0
        and     eax, ~0x10                      ; try to clear ET
        mov     cr0, eax
        mov     eax, cr0
        CHECK32M eax, 0x10, 0x10, 'CR0.ET stays 1'

        ; LMSW: bits 3:0 only, PE cannot be cleared
        mov     ax, 0x000E                      ; MP, EM, TS, PE = 0
        lmsw    ax
        mov     eax, cr0
        CHECK32M eax, 0x1F, 0x1F, 'lmsw 000Eh: MP/EM/TS set, PE kept, ET kept'
        clts
        mov     eax, cr0
        CHECK32M eax, CR0_TS, 0, 'clts clears TS'
        mov     ax, 0x0001
        lmsw    ax
        mov     eax, cr0
        CHECK32M eax, 0x1F, 0x11, 'lmsw 0001h: MP/EM/TS cleared'

; ---- CR1, CR5-7: #UD; CR4 rules ---------------------------------------------------------------
        TRY
        AT
        db      0x0F, 0x20, 0xC8                ; mov eax, cr1
        EXPECT_EXC 'mov eax, cr1', 6, -1
        TRY
        AT
        db      0x0F, 0x22, 0xE8                ; mov cr5, eax
        EXPECT_EXC 'mov cr5, eax', 6, -1
        TRY
        AT
        db      0x0F, 0x20, 0xF8                ; mov eax, cr7
        EXPECT_EXC 'mov eax, cr7', 6, -1

        TRY
        mov     eax, cr4
        or      eax, 1 << 15
        AT
        mov     cr4, eax
        EXPECT_EXC 'CR4: reserved bit 15', 13, 0
        TRY
        mov     eax, cr4
        or      eax, 1 << 31
        AT
        mov     cr4, eax
        EXPECT_EXC 'CR4: reserved bit 31', 13, 0
        test    dword [cpuid1_edx], 2
        jnz     .has_vme
        TRY
        mov     eax, cr4
        or      eax, 1                          ; VME, not offered by CPUID
        AT
        mov     cr4, eax
        EXPECT_EXC 'CR4.VME without CPUID.VME', 13, 0
.has_vme:

; ---- debug registers --------------------------------------------------------------------------
        mov     eax, 0x11111111
        mov     dr0, eax
        mov     eax, 0x22222222
        mov     dr1, eax
        mov     eax, 0x33333333
        mov     dr2, eax
        mov     eax, 0x44444444
        mov     dr3, eax
        mov     eax, dr0
        CHECK32 eax, 0x11111111, 'DR0 read back'
        mov     eax, dr1
        CHECK32 eax, 0x22222222, 'DR1 read back'
        mov     eax, dr2
        CHECK32 eax, 0x33333333, 'DR2 read back'
        mov     eax, dr3
        CHECK32 eax, 0x44444444, 'DR3 read back'
        xor     eax, eax
        mov     dr6, eax
        mov     eax, dr6
        CHECK32 eax, 0xFFFF0FF0, 'DR6 after writing 0 (fixed bits)'
        xor     eax, eax
        mov     dr7, eax
        mov     eax, dr7
        CHECK32 eax, 0x00000400, 'DR7 after writing 0 (bit 10 fixed)'
        mov     eax, 0x00000003                 ; L0, G0 (DR0 = 11111111h, execute: never hit)
        mov     dr7, eax
        db      0x0F, 0x21, 0xE8                ; mov eax, dr5: DR7 while CR4.DE = 0
        CHECK32 eax, 0x00000403, 'DR5 aliases DR7 (CR4.DE = 0)'
        db      0x0F, 0x21, 0xE0                ; mov eax, dr4: DR6
        CHECK32 eax, 0xFFFF0FF0, 'DR4 aliases DR6 (CR4.DE = 0)'
        xor     eax, eax
        mov     dr7, eax
        mov     eax, cr4
        or      eax, 1 << 3                     ; DE
        mov     cr4, eax
        TRY
        AT
        db      0x0F, 0x21, 0xE0                ; mov eax, dr4
        EXPECT_EXC 'mov eax, dr4 with CR4.DE = 1', 6, -1
        TRY
        AT
        db      0x0F, 0x23, 0xE8                ; mov dr5, eax
        EXPECT_EXC 'mov dr5, eax with CR4.DE = 1', 6, -1
        mov     eax, cr4
        and     eax, ~(1 << 3)
        mov     cr4, eax

        ; DR7.GD: the next MOV DR is a #DB fault with DR6.BD, GD cleared in the handler
        xor     eax, eax
        mov     dr6, eax
        mov     eax, 1 << 13                    ; GD
        mov     dr7, eax
        TRY
        AT
        mov     eax, dr0
        EXPECT_EXC 'mov eax, dr0 with DR7.GD = 1', 1, -1
        mov     eax, dr7
        mov     [dr7_in_db], eax
        CHECK32M dword [dr7_in_db], 1 << 13, 0, 'DR7.GD cleared on #DB'
        mov     eax, dr6
        CHECK32M eax, 1 << 13, 1 << 13, 'DR6.BD set by the GD fault'

; ---- SMSW / SGDT / SIDT at CPL3 -----------------------------------------------------------------
        R3_TRY
        smsw    [r3_msw]
        sgdt    [r3_gdt]
        sidt    [r3_idt]
        R3_NOFAULT 'smsw/sgdt/sidt at CPL3'
        CHECK32M dword [r3_msw], 0xFFFF, 0x0011, 'smsw at CPL3'
        CHECK32M dword [r3_gdt], 0xFFFF, GDT_LIMIT, 'sgdt at CPL3: limit'
        CHECK32 dword [r3_gdt + 2], GDT_BASE, 'sgdt at CPL3: base'
        CHECK32M dword [r3_idt], 0xFFFF, 256 * 8 - 1, 'sidt at CPL3: limit'
        CHECK32 dword [r3_idt + 2], IDT_BASE, 'sidt at CPL3: base'

; ---- 64-bit mode ----------------------------------------------------------------------------------
        ENTER_LONG64
        TRY64
        mov     rax, cr0
        bts     rax, 32
        AT
        mov     cr0, rax
        EXPECT_EXC64 'CR0 bit 32', 13, 0
        TRY64
        mov     rax, cr4
        bts     rax, 40
        AT
        mov     cr4, rax
        EXPECT_EXC64 'CR4 bit 40', 13, 0
        mov     eax, 5
        mov     cr8, rax
        mov     rax, cr8
        CHECK64 rax, 5, 'CR8 read back'
        TRY64
        mov     eax, 0x10
        AT
        mov     cr8, rax
        EXPECT_EXC64 'CR8 bit 4', 13, 0
        xor     eax, eax
        mov     cr8, rax
        TRY64
        mov     rax, 1 << 32
        AT
        mov     dr7, rax
        EXPECT_EXC64 'DR7 bit 32', 13, 0
        TRY64
        mov     rax, 1 << 32
        AT
        mov     dr6, rax
        EXPECT_EXC64 'DR6 bit 32', 13, 0
        mov     rax, 0x123456789ABC
        mov     dr0, rax
        mov     rax, dr0
        mov     rbx, 0x123456789ABC
        CHECK64 rax, rbx, 'DR0 holds a 64-bit address'

        FINISH64
