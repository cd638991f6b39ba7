; paging_pae_nx: PAE paging (CR4.PAE = 1, 64-bit entries) with IA32_EFER.NXE.
;
; SDM Vol. 3 §4.4 (PAE paging: 4 PDPTEs loaded by MOV CR3 / enabling paging;
; a present PDPTE with a reserved bit set (bits 2:1, 8:5, 63:MAXPHYADDR) makes
; that MOV #GP(0), §4.4.1; PDPTEs have no A bit), Tables 4-8..4-11 (reserved
; bits: a 2 MiB PDE's bits 20:13, bits 62:MAXPHYADDR of every entry, bit 63
; when EFER.NXE = 0), §4.6 (with NXE = 1 an instruction fetch from a page with
; XD = 1 at any level faults), §4.7 (#PF error code: P = 1 for protection and
; reserved-bit violations, RSVD = bit 3, I/D = bit 4 for fetches when PAE and
; NXE are both on, whether or not the page is present).
;
; Map: PDPT at 0x20000 (PDPTE 0 -> PD at 0x21000; PDPTE 1 not present), PD 0 ->
; PT at 0x22000 (0-2 MiB identity, user, writable), PD 1: 2 MiB page at 2 MiB
; with XD, PD 2 -> PT at 0x23000 through an XD PDE (its first entry maps
; 0x400000 without XD), PD 3: 2 MiB page at 6 MiB with reserved bit 13.
; Test pages: TP_NX 0x100000 (user, XD), TP_X 0x101000 (user, executable),
; TP_NP 0x102000 (not present), TP_RSV 0x103000 (reserved bit MAXPHYADDR),
; TP_XD0 0x104000 (bit 63 set; reserved when NXE = 0).

%define TEST_NAME 'paging_pae_nx'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
maxphy:         resd 1
section .text

PDPT            equ 0x20000
PD              equ 0x21000
PT0             equ 0x22000
PT2             equ 0x23000
PD_BAD          equ 0x24000
PDPT2           equ 0x20100         ; PAE CR3 needs 32-byte alignment only
TP_NX           equ 0x100000
TP_X            equ 0x101000
TP_NP           equ 0x102000
TP_RSV          equ 0x103000
TP_XD0          equ 0x104000
%define PTE(a) (PT0 + ((a) >> 12) * 8)

PG_P            equ 0x001
PG_RW           equ 0x002
PG_US           equ 0x004
PG_A            equ 0x020
PG_D            equ 0x040
PG_PS           equ 0x080
XD_HI           equ 0x80000000      ; bit 63, in the high dword
PF_P            equ 0x01
PF_W            equ 0x02
PF_U            equ 0x04
PF_RSVD         equ 0x08
PF_ID           equ 0x10

%macro EFER_SET 1
        mov     ecx, EFER_MSR
        rdmsr
        or      eax, %1
        wrmsr
%endmacro
%macro EFER_CLEAR 1
        mov     ecx, EFER_MSR
        rdmsr
        and     eax, ~(%1)
        wrmsr
%endmacro
%macro FLUSH_TLB 0
        mov     eax, cr3
        mov     cr3, eax
%endmacro

main:
        INIT
        call    pm_setup
        ENTER_PM32

        mov     eax, 0x80000008
        cpuid
        movzx   eax, al
        mov     [maxphy], eax
        cmp     eax, 36
        jb      .badphy
        cmp     eax, 52
        jb      .phyok
.badphy:
        FAIL32  'CPUID.80000008 MAXPHYADDR outside 36..51'
        FINISH32
.phyok:

; ---- tables --------------------------------------------------------------------------------
        cld
        xor     eax, eax
        mov     edi, PDPT
        mov     ecx, 0x5000 / 4
        rep stosd
        mov     edi, PT0
        mov     eax, PG_P | PG_RW | PG_US
        mov     ecx, 512
.pt0:   mov     [edi], eax
        mov     dword [edi + 4], 0
        add     edi, 8
        add     eax, 0x1000
        dec     ecx
        jnz     .pt0
        mov     dword [PDPT], PD | PG_P
        mov     dword [PD + 0], PT0 | PG_P | PG_RW | PG_US
        mov     dword [PD + 8], 0x200000 | PG_PS | PG_P | PG_RW | PG_US
        mov     dword [PD + 12], XD_HI
        mov     dword [PD + 16], PT2 | PG_P | PG_RW | PG_US
        mov     dword [PT2], 0x400000 | PG_P | PG_RW | PG_US
        mov     dword [PD + 24], 0x600000 | PG_PS | PG_P | PG_RW | PG_US | (1 << 13)
        mov     dword [PTE(TP_NX) + 4], XD_HI
        mov     dword [PTE(TP_NP)], 0
        mov     dword [PTE(TP_XD0) + 4], XD_HI
        ; TP_RSV: bit MAXPHYADDR of its PTE (bits 62:MAXPHYADDR are reserved)
        mov     ecx, [maxphy]
        sub     ecx, 32
        mov     eax, 1
        shl     eax, cl
        or      [PTE(TP_RSV) + 4], eax
        ; a RET at the start of the executable test pages
        mov     byte [TP_NX], 0xC3
        mov     byte [TP_X], 0xC3
        mov     byte [0x200000], 0xC3
        mov     byte [0x400000], 0xC3

        EFER_SET EFER_NXE
        mov     eax, PDPT
        mov     cr3, eax
        mov     eax, cr4
        or      eax, CR4_PAE
        mov     cr4, eax
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax
        jmp     .paged
.paged:
        mov     ecx, EFER_MSR
        rdmsr
        CHECK32M eax, EFER_NXE | EFER_LMA, EFER_NXE, 'EFER: NXE set, LMA clear'

; ---- A/D with 64-bit entries; PDPTEs have no A bit ------------------------------------------
        CHECK32 dword [PTE(TP_X)], TP_X | PG_P | PG_RW | PG_US, 'TP_X PTE before access'
        mov     eax, [TP_X + 8]
        CHECK32 dword [PTE(TP_X)], TP_X | PG_A | PG_P | PG_RW | PG_US, 'TP_X PTE after a read'
        mov     [TP_X + 8], eax
        CHECK32 dword [PTE(TP_X)], TP_X | PG_D | PG_A | PG_P | PG_RW | PG_US, 'TP_X PTE after a write'
        CHECK32 dword [PTE(TP_X) + 4], 0, 'TP_X PTE high dword'
        CHECK32M dword [PD], PG_A, PG_A, 'PDE 0 accessed'
        CHECK32 dword [PDPT], PD | PG_P, 'PDPTE 0 unchanged (no A bit in PAE PDPTEs)'

; ---- execute permissions -------------------------------------------------------------------
        ARM_RESUME .x_bad
        mov     eax, [TP_NX]                    ; reading an XD page is fine
        mov     eax, TP_X
        call    eax                             ; TP_X: executable
        mov     eax, 0x400000
        call    eax                             ; XD clear at every level
        DISARM
        jmp     .x_ok
.x_bad: FAIL32  'executing or reading an executable page faulted'
.x_ok:

        TRY
        mov     eax, TP_NX
        call    eax
        EXPECT_EXC_EIP 'fetch from an XD page (PTE)', 14, PF_ID | PF_P, TP_NX
        CHECK32 dword [exc_cr2], TP_NX, 'fetch from an XD page: CR2'

        TRY
        mov     eax, 0x200000
        call    eax
        EXPECT_EXC_EIP 'fetch from an XD 2 MiB page', 14, PF_ID | PF_P, 0x200000
        CHECK32 dword [exc_cr2], 0x200000, 'fetch from an XD 2 MiB page: CR2'

        mov     dword [PD + 20], XD_HI          ; now XD in the PDE above 0x400000's PTE
        invlpg  [0x400000]
        TRY
        mov     eax, 0x400000
        call    eax
        EXPECT_EXC_EIP 'fetch through an XD PDE', 14, PF_ID | PF_P, 0x400000

        TRY
        mov     eax, TP_NP
        call    eax
        EXPECT_EXC_EIP 'fetch from a not-present page (NXE: I/D set)', 14, PF_ID, TP_NP

        TRY
        mov     eax, 0x40000000                 ; PDPTE 1 not present
        AT
        mov     eax, [eax]
        EXPECT_EXC 'read through a not-present PDPTE', 14, 0
        CHECK32 dword [exc_cr2], 0x40000000, 'read through a not-present PDPTE: CR2'

        TRY
        ENTER_RING3 .r3nx, .r3nx_back
.r3nx:  mov     eax, TP_NX
        call    eax
        RING3_EXIT
.r3nx_back:
        EXPECT_EXC_EIP 'ring 3 fetch from an XD user page', 14, PF_ID | PF_U | PF_P, TP_NX
        CHECK32 dword [exc_cs], SEL_CODE32_R3, 'ring 3 fetch from an XD user page: CS'

; ---- reserved bits -------------------------------------------------------------------------
        TRY
        AT
        mov     eax, [TP_RSV + 4]
        EXPECT_EXC 'read, PTE bit MAXPHYADDR set', 14, PF_RSVD | PF_P
        CHECK32 dword [exc_cr2], TP_RSV + 4, 'read, PTE bit MAXPHYADDR set: CR2'

        TRY
        AT
        mov     dword [TP_RSV + 8], 0
        EXPECT_EXC 'write, PTE bit MAXPHYADDR set', 14, PF_RSVD | PF_W | PF_P

        TRY
        mov     eax, TP_RSV
        call    eax
        EXPECT_EXC_EIP 'fetch, PTE bit MAXPHYADDR set', 14, PF_ID | PF_RSVD | PF_P, TP_RSV

        TRY
        AT
        mov     eax, [0x600000 + 0x10]
        EXPECT_EXC 'read, 2 MiB PDE with bit 13 set', 14, PF_RSVD | PF_P
        CHECK32 dword [exc_cr2], 0x600010, 'read, 2 MiB PDE with bit 13 set: CR2'

        ; With NXE = 0 bit 63 is reserved: TP_XD0 reads fault with RSVD.
        mov     eax, [TP_XD0]                   ; fine with NXE = 1 (just not executable)
        EFER_CLEAR EFER_NXE
        FLUSH_TLB
        TRY
        AT
        mov     eax, [TP_XD0]
        EXPECT_EXC 'read, bit 63 set with NXE=0', 14, PF_RSVD | PF_P
        TRY
        mov     eax, TP_X                       ; and a fetch fault no longer reports I/D
        mov     dword [PTE(TP_X)], 0
        invlpg  [eax]
        call    eax
        EXPECT_EXC_EIP 'fetch from a not-present page with NXE=0 (no I/D)', 14, 0, TP_X
        mov     dword [PTE(TP_X)], TP_X | PG_P | PG_RW | PG_US
        invlpg  [TP_X]
        EFER_SET EFER_NXE
        FLUSH_TLB

        ; A present PDPTE with a reserved bit (R/W, bit 1): MOV CR3 #GP(0), CR3 unchanged.
        ; (a second PDPT at PDPT2 = PDPT 0 plus a bad PDPTE 1)
        mov     dword [PDPT2], PD | PG_P
        mov     dword [PDPT2 + 8], PD_BAD | PG_P | PG_RW
        TRY
        mov     eax, PDPT2
        AT
        mov     cr3, eax
        EXPECT_EXC 'MOV CR3 with a reserved PDPTE bit', 13, 0
        mov     eax, cr3
        CHECK32 eax, PDPT, 'CR3 after the failed MOV'
        mov     dword [PDPT2 + 8], PD_BAD | PG_P | (1 << 5)
        TRY
        mov     eax, PDPT2
        AT
        mov     cr3, eax
        EXPECT_EXC 'MOV CR3 with PDPTE bit 5 set', 13, 0
        mov     dword [PDPT2 + 8], 0            ; a not-present PDPTE's other bits are ignored
        mov     dword [PDPT2 + 12], 0xFFFFFFFF
        ARM_RESUME .cr3_bad
        mov     eax, PDPT2
        mov     cr3, eax
        DISARM
        jmp     .cr3_ok
.cr3_bad:
        FAIL32  'MOV CR3 with a clean PDPT faulted'
.cr3_ok:
        mov     eax, cr3
        CHECK32 eax, PDPT2, 'CR3 after MOV of the good PDPT'
        CHECK32M dword [TP_X], 0xFF, 0xC3, 'paging through the second PDPT'

        FINISH32
