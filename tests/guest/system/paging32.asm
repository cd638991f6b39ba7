; paging32: 32-bit paging (CR0.PG, CR4.PSE = 1) with 4 KiB and 4 MiB pages.
;
; SDM Vol. 3 §4.3 (32-bit paging, Tables 4-4..4-6), §4.6 (access rights: a
; user access needs U/S = 1 at every level, a user write R/W = 1 at every
; level; a supervisor write to a read-only page faults only when CR0.WP = 1),
; §4.7 (#PF error code: P bit 0 = protection violation, W/R bit 1 = write,
; U/S bit 2 = CPL 3, I/D bit 4 only with PAE+NXE (or SMEP), so 0 here; CR2 =
; the faulting linear address), §4.8 (A set in every entry used, D set in the
; entry mapping the page on a write), §4.10.4.1 (INVLPG, MOV CR3).
;
; Map (all in RAM, identity unless said): PD at 0x20000; PDE 0 -> page table at
; 0x21000 mapping 0-4 MiB identity, user, writable; PDE 1 -> 4 MiB supervisor
; page at 0x400000 (A = D = 0 at first); PDE 2 -> a user page table at 0x22000
; through a read-only PDE, its first entry a writable user page at phys
; 0x105000; PDE 3 -> 4 MiB user page at phys 0 (an alias of low memory).
; Test pages: TP_A 0x100000 (A/D, INVLPG), TP_NP 0x101000 (not present),
; TP_RO 0x102000 (user read-only), TP_SUP 0x103000 (supervisor, writable),
; 0x104000 (an alternative frame for TP_A).

%define TEST_NAME 'paging32'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
saved:          resd 4
section .text

PD              equ 0x20000
PT0             equ 0x21000
PT2             equ 0x22000
TP_A            equ 0x100000
TP_NP           equ 0x101000
TP_RO           equ 0x102000
TP_SUP          equ 0x103000
TP_ALT          equ 0x104000
%define PTE(a) (PT0 + ((a) >> 12) * 4)

PG_P            equ 0x001
PG_RW           equ 0x002
PG_US           equ 0x004
PG_A            equ 0x020
PG_D            equ 0x040
PG_PS           equ 0x080

PF_P            equ 1
PF_W            equ 2
PF_U            equ 4

%macro WP_ON 0
        mov     eax, cr0
        or      eax, CR0_WP
        mov     cr0, eax
%endmacro
%macro WP_OFF 0
        mov     eax, cr0
        and     eax, ~CR0_WP
        mov     cr0, eax
%endmacro

main:
        INIT
        call    pm_setup
        ENTER_PM32

; ---- build the tables (paging off) ------------------------------------------------------
        cld
        xor     eax, eax
        mov     edi, PD
        mov     ecx, 0x3000 / 4
        rep stosd
        mov     edi, PT0
        mov     eax, PG_P | PG_RW | PG_US
        mov     ecx, 1024
.pt0:   stosd
        add     eax, 0x1000
        dec     ecx
        jnz     .pt0
        mov     dword [PD + 0], PT0 | PG_P | PG_RW | PG_US
        mov     dword [PD + 4], 0x400000 | PG_PS | PG_P | PG_RW
        mov     dword [PD + 8], PT2 | PG_P | PG_US
        mov     dword [PD + 12], 0 | PG_PS | PG_P | PG_RW | PG_US
        mov     dword [PT2 + 0], 0x105000 | PG_P | PG_RW | PG_US
        mov     dword [PTE(TP_A)], TP_A | PG_P | PG_RW | PG_US
        mov     dword [PTE(TP_NP)], 0
        mov     dword [PTE(TP_RO)], TP_RO | PG_P | PG_US
        mov     dword [PTE(TP_SUP)], TP_SUP | PG_P | PG_RW
        mov     dword [TP_A], 0xA0A0A0A0
        mov     dword [TP_ALT], 0xB0B0B0B0
        mov     dword [TP_RO], 0x12345678
        mov     dword [TP_SUP], 0x5A5A5A5A

        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr4
        or      eax, CR4_PSE
        mov     cr4, eax
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax
        jmp     .paged
.paged:
        mov     eax, cr0
        CHECK32M eax, CR0_PG | CR0_PE, CR0_PG | CR0_PE, 'CR0.PG set'
        CHECK32M dword [PD + 0], PG_A, PG_A, 'PDE 0 accessed after code fetches'

; ---- A and D bits, 4 KiB page ------------------------------------------------------------
        CHECK32 dword [PTE(TP_A)], TP_A | PG_P | PG_RW | PG_US, 'TP_A PTE before any access'
        mov     eax, [TP_A]
        CHECK32 eax, 0xA0A0A0A0, 'TP_A read'
        CHECK32 dword [PTE(TP_A)], TP_A | PG_A | PG_P | PG_RW | PG_US, 'TP_A PTE after a read (A, not D)'
        mov     dword [TP_A + 4], 0xA1A1A1A1      ; the TLB entry came from a read: D must be set now
        CHECK32 dword [PTE(TP_A)], TP_A | PG_D | PG_A | PG_P | PG_RW | PG_US, 'TP_A PTE after a write (A and D)'

; ---- A and D bits, 4 MiB page ------------------------------------------------------------
        CHECK32 dword [PD + 4], 0x400000 | PG_PS | PG_P | PG_RW, 'PDE 1 (4 MiB) before any access'
        mov     eax, [0x400000 + 0x1230]
        CHECK32 dword [PD + 4], 0x400000 | PG_PS | PG_A | PG_P | PG_RW, 'PDE 1 (4 MiB) after a read'
        mov     dword [0x400000 + 0x3FFFFC], 0x44444444
        CHECK32 dword [PD + 4], 0x400000 | PG_PS | PG_D | PG_A | PG_P | PG_RW, 'PDE 1 (4 MiB) after a write'
        CHECK32 dword [0x7FFFFC], 0x44444444, '4 MiB page readback'

        ; PDE 3: 4 MiB alias of physical 0
        mov     dword [saved], 0x600DF00D
        CHECK32 dword [0xC00000 + saved], 0x600DF00D, '4 MiB alias of physical 0 (read)'
        mov     dword [0xC00000 + saved + 4], 0xFEEDBEEF
        CHECK32 dword [saved + 4], 0xFEEDBEEF, '4 MiB alias of physical 0 (write)'

; ---- not-present page, ring 0 --------------------------------------------------------------
        TRY
        AT
        mov     eax, [TP_NP + 0x123]
        EXPECT_EXC 'ring 0 read, not present', 14, 0
        CHECK32 dword [exc_cr2], TP_NP + 0x123, 'ring 0 read, not present: CR2'

        TRY
        AT
        mov     byte [TP_NP + 0xFFF], 1
        EXPECT_EXC 'ring 0 write, not present', 14, PF_W
        CHECK32 dword [exc_cr2], TP_NP + 0xFFF, 'ring 0 write, not present: CR2'

        TRY
        mov     eax, TP_NP + 0x10
        call    eax
        EXPECT_EXC_EIP 'ring 0 fetch, not present', 14, 0, TP_NP + 0x10
        CHECK32 dword [exc_cr2], TP_NP + 0x10, 'ring 0 fetch, not present: CR2'

        ; A dword write across TP_A's end into TP_NP: faults, and TP_A is left as it was.
        mov     dword [TP_A + 0xFFC], 0x11223344
        TRY
        mov     eax, 0xDDCCBBAA
        AT
        mov     [TP_A + 0xFFE], eax
        EXPECT_EXC 'write across into a not-present page', 14, PF_W
        CHECK32M dword [exc_cr2], 0xFFFFF000, TP_NP, 'write across into a not-present page: CR2 page'
        CHECK32 dword [TP_A + 0xFFC], 0x11223344, 'write across into a not-present page: first page untouched'

; ---- CR0.WP, ring 0 writes to read-only pages ---------------------------------------------
        WP_OFF
        ARM_RESUME .wp0_bad
        mov     dword [TP_RO], 0x87654321      ; WP = 0: supervisor writes ignore R/W
        mov     dword [0x800000], 0x80808080    ; through the read-only PDE 2 too
        DISARM
        jmp     .wp0_ok
.wp0_bad:
        FAIL32  'ring 0 write to a read-only page with CR0.WP=0 faulted'
.wp0_ok:
        CHECK32 dword [TP_RO], 0x87654321, 'ring 0 write with WP=0 took effect'
        CHECK32M dword [PTE(TP_RO)], PG_D | PG_A, PG_D | PG_A, 'ring 0 write with WP=0 set A and D'
        CHECK32 dword [0x105000], 0x80808080, 'PDE 2 page maps physical 0x105000'

        WP_ON                                   ; no INVLPG: WP applies to cached translations too
        TRY
        AT
        mov     dword [TP_RO], 0x11111111
        EXPECT_EXC 'ring 0 write to a user read-only page, WP=1', 14, PF_P | PF_W
        CHECK32 dword [exc_cr2], TP_RO, 'ring 0 write, WP=1: CR2'
        CHECK32 dword [TP_RO], 0x87654321, 'ring 0 write, WP=1: memory unchanged'

        TRY
        AT
        mov     dword [0x800010], 0x11111111
        EXPECT_EXC 'ring 0 write through a read-only PDE, WP=1', 14, PF_P | PF_W
        CHECK32 dword [exc_cr2], 0x800010, 'ring 0 write through a read-only PDE, WP=1: CR2'
        WP_OFF

; ---- ring 3 --------------------------------------------------------------------------------
        R3_TRY
        AT
        mov     eax, [TP_NP + 8]
        R3_EXPECT 'ring 3 read, not present', 14, PF_U
        CHECK32 dword [exc_cr2], TP_NP + 8, {'ring 3 read, not present', ': CR2'}

        R3_TRY
        AT
        mov     dword [TP_NP + 0x20], eax
        R3_EXPECT 'ring 3 write, not present', 14, PF_U | PF_W
        CHECK32 dword [exc_cr2], TP_NP + 0x20, {'ring 3 write, not present', ': CR2'}

        R3_TRY
        AT
        mov     eax, [TP_SUP + 4]
        R3_EXPECT 'ring 3 read, supervisor page', 14, PF_U | PF_P
        CHECK32 dword [exc_cr2], TP_SUP + 4, {'ring 3 read, supervisor page', ': CR2'}

        R3_TRY
        AT
        mov     dword [TP_SUP + 8], eax
        R3_EXPECT 'ring 3 write, supervisor page', 14, PF_U | PF_W | PF_P
        CHECK32 dword [exc_cr2], TP_SUP + 8, {'ring 3 write, supervisor page', ': CR2'}

        R3_TRY
        mov     eax, TP_SUP + 0x40
        call    eax
        R3_EXPECT_EIP 'ring 3 fetch, supervisor page', 14, PF_U | PF_P, TP_SUP + 0x40
        CHECK32 dword [exc_cr2], TP_SUP + 0x40, {'ring 3 fetch, supervisor page', ': CR2'}

        R3_TRY
        mov     eax, [TP_RO]                    ; reads are fine (and fill the TLB) ...
        AT
        mov     dword [TP_RO], eax              ; ... a user write is not, whatever CR0.WP
        R3_EXPECT 'ring 3 write, read-only page', 14, PF_U | PF_W | PF_P
        CHECK32 dword [exc_cr2], TP_RO, {'ring 3 write, read-only page', ': CR2'}

        R3_TRY
        AT
        mov     eax, [0x400000]
        R3_EXPECT 'ring 3 read, supervisor 4 MiB page', 14, PF_U | PF_P
        CHECK32 dword [exc_cr2], 0x400000, {'ring 3 read, supervisor 4 MiB page', ': CR2'}

        R3_TRY
        mov     eax, [0x800000]                 ; user PDE and PTE: reads are fine
        AT
        mov     dword [0x800004], eax           ; PDE R/W = 0 wins over PTE R/W = 1
        R3_EXPECT 'ring 3 write through a read-only PDE', 14, PF_U | PF_W | PF_P
        CHECK32 dword [exc_cr2], 0x800004, {'ring 3 write through a read-only PDE', ': CR2'}

        R3_TRY
        mov     eax, [TP_A]                     ; a user page: fine at ring 3
        mov     [TP_A + 8], eax
        mov     eax, [0xC00000 + saved]         ; and the user 4 MiB alias
        R3_NOFAULT 'ring 3 access to user pages'

; ---- INVLPG and CR3 reloads -------------------------------------------------------------------
        CHECK32 dword [TP_A], 0xA0A0A0A0, 'TP_A before remapping'
        mov     dword [PTE(TP_A)], TP_ALT | PG_P | PG_RW | PG_US
        invlpg  [TP_A]
        CHECK32 dword [TP_A], 0xB0B0B0B0, 'TP_A remapped to 0x104000 after INVLPG'
        mov     dword [PTE(TP_A)], TP_A | PG_P | PG_RW | PG_US
        mov     eax, cr3
        mov     cr3, eax
        CHECK32 dword [TP_A], 0xA0A0A0A0, 'TP_A mapped back after MOV CR3'
        mov     dword [PTE(TP_A)], 0
        invlpg  [TP_A + 0x800]                  ; any address in the page
        TRY
        AT
        mov     eax, [TP_A + 0x10]
        EXPECT_EXC 'TP_A not present after INVLPG', 14, 0
        CHECK32 dword [exc_cr2], TP_A + 0x10, 'TP_A not present after INVLPG: CR2'
        mov     dword [PTE(TP_A)], TP_A | PG_P | PG_RW | PG_US
        invlpg  [TP_A]
        CHECK32 dword [TP_A], 0xA0A0A0A0, 'TP_A present again'

        FINISH32
