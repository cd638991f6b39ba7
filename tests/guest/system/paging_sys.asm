; paging_sys: paging together with the rest of the system.
;
; - Segmentation comes first: an access past the segment limit is #GP(0) even
;   when the page is not present (SDM Vol. 3 §3.1: the linear address is formed
;   and checked before it is translated).
; - An instruction straddling into a not-present page: #PF at the instruction
;   (fault, EIP = its first byte), CR2 in the second page (§4.7, §6.15 #PF).
; - REP MOVSB running into a not-present page: #PF with ECX/ESI/EDI showing
;   the iterations done, EIP = the REP MOVSB (Vol. 2 REP: restartable).
; - A ring-3 PUSH into a not-present page: #PF (U/S, W/R) with ESP unchanged.
; - Implicit supervisor-mode accesses (§4.6: GDT/LDT/IDT/TSS accesses and the
;   inner-level stack of an interrupt are supervisor accesses whatever the
;   CPL): with the GDT, IDT, TSS and ring-0 stack in supervisor-only pages,
;   ring-3 code loads DS (the accessed bit gets written), runs LAR/VERR and INT
;   40h through a DPL3 gate without page faults.
; - A task switch loads CR3 from the new TSS (§7.3): task B sees its own
;   mapping of a page, and the JMP back restores the main task's CR3.
; - Code modified through another linear alias of its physical page runs in
;   its modified form (SDM Vol. 3 §11.6 self-modifying code; cross-modifying by
;   alias on one processor).

%define TEST_NAME 'paging_sys'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
tb_val:         resd 1
tb_cr3:         resd 1
tb_count:       resd 1
r3_lar:         resd 1
r3_verr:        resd 1
smc_val:        resd 2
section .text

PD              equ 0x20000
PT0             equ 0x21000
PD2             equ 0x22000         ; task B's page directory
PT2             equ 0x23000
TP              equ 0x100000        ; phys 0x100000 in PD, phys 0x101000 in PD2
PAGE_END        equ 0x102000        ; 0x101xxx present, 0x102xxx not present
ALIAS           equ 0x180000        ; linear alias of the page holding smc_target
SEL_LIMITED     equ 0x80            ; data, base 0, limit 0x101FFF bytes
SEL_TSS_B       equ 0x88
TSS_B           equ 0x3100
%define PTE(a) (PT0 + ((a) >> 12) * 4)

main:
        INIT
        call    pm_setup
        SETDESC SEL_LIMITED, 0, 0x101FFF, ACC_DATA0, 0x4
        SETDESC SEL_TSS_B, TSS_B, 0x67, ACC_TSS32, 0
        ENTER_PM32
        PM_CLEAR_TEST_VARS
        mov     edi, TSS_B
        mov     ecx, 0x68 / 4
        rep stosd
        ; tables: identity 0-4 MiB, user and writable, except the system pages
        mov     edi, PT0
        mov     eax, 7
        mov     ecx, 1024
.pt:    stosd
        add     eax, 0x1000
        dec     ecx
        jnz     .pt
        mov     dword [PTE(GDT_BASE)], GDT_BASE | 3             ; supervisor only
        mov     dword [PTE(IDT_BASE)], IDT_BASE | 3
        mov     dword [PTE(TSS_BASE)], TSS_BASE | 3
        mov     dword [PTE(STACK0_TOP - 0x1000)], (STACK0_TOP - 0x1000) | 3
        mov     dword [PTE(PAGE_END)], 0
        mov     eax, smc_target
        and     eax, ~0xFFF
        or      eax, 3
        mov     [PTE(ALIAS)], eax
        mov     dword [PD], PT0 | 7
        ; task B's directory: the same, but TP maps physical 0x101000
        mov     esi, PT0
        mov     edi, PT2
        mov     ecx, 1024
        rep movsd
        mov     dword [PT2 + (TP >> 12) * 4], (TP + 0x1000) | 7
        mov     dword [PD2], PT2 | 7
        mov     dword [TP], 0x10000000
        mov     dword [TP + 0x1000], 0x10001000
        ; TSSs: CR3 fields
        mov     dword [TSS_BASE + 0x1C], PD
        mov     dword [TSS_B + 0x1C], PD2
        mov     dword [TSS_B + 0x20], task_b
        mov     dword [TSS_B + 0x24], 2
        mov     dword [TSS_B + 0x38], 0x6800
        mov     dword [TSS_B + 0x48], SEL_DATA32
        mov     dword [TSS_B + 0x4C], SEL_CODE32
        mov     dword [TSS_B + 0x50], SEL_DATA32
        mov     dword [TSS_B + 0x54], SEL_DATA32
        mov     dword [TSS_B + 0x58], SEL_DATA32
        mov     dword [TSS_B + 0x5C], SEL_DATA32
        mov     word [TSS_B + 0x66], 0x68
        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax

; ---- segment limit before paging -----------------------------------------------------------
        TRY
        mov     ax, SEL_LIMITED
        mov     ds, ax
        AT
        mov     eax, [PAGE_END]                 ; past the limit and not present: #GP wins
        EXPECT_EXC 'past the limit on a not-present page', 13, 0

; ---- an instruction straddling into a not-present page -------------------------------------
        mov     byte [PAGE_END - 3], 0xB8       ; mov eax, imm32: 3 bytes here, 2 on the next page
        mov     word [PAGE_END - 2], 0x1234
        TRY
        mov     eax, PAGE_END - 3
        jmp     eax
        EXPECT_EXC_EIP 'fetch straddling into a not-present page', 14, 0, PAGE_END - 3
        CHECK32M dword [exc_cr2], 0xFFFFF000, PAGE_END, 'fetch straddling: CR2 in the second page'

; ---- REP MOVSB into a not-present page -----------------------------------------------------------
        TRY
        mov     esi, TP
        mov     edi, PAGE_END - 0x10
        mov     ecx, 0x20
        AT
        rep movsb
        EXPECT_EXC 'rep movsb into a not-present page', 14, 2
        CHECK32 dword [exc_cr2], PAGE_END, 'rep movsb: CR2'
        CHECK32 ecx, 0x10, 'rep movsb: ECX (iterations left)'
        CHECK32 edi, PAGE_END, 'rep movsb: EDI'
        CHECK32 esi, TP + 0x10, 'rep movsb: ESI'

; ---- ring-3 PUSH into a not-present page -------------------------------------------------------
        TRY
        mov     dword [r3_back_eip], .push_back
        mov     [r3_back_esp], esp
        push    dword SEL_DATA32_R3
        push    dword PAGE_END + 4
        push    dword 2
        push    dword SEL_CODE32_R3
        push    dword .r3push
        iretd
.r3push:
        AT
        push    eax
        RING3_EXIT
.push_back:
        EXPECT_EXC 'ring 3 push into a not-present page', 14, 6
        CHECK32 dword [exc_esp], PAGE_END + 4, 'ring 3 push: ESP unchanged'
        CHECK32 dword [exc_cr2], PAGE_END, 'ring 3 push: CR2'

; ---- implicit supervisor accesses from ring 3 ----------------------------------------------
        SETIDT_STUB 0x40, GATE_INT32 | GATE_DPL3
        and     byte [GDT_BASE + (SEL_DATA32_R3 & ~3) + 5], ~1  ; accessed bit clear
        mov     eax, cr3
        mov     cr3, eax
        TRY
        ENTER_RING3 .r3sys, .r3sys_back
.r3sys:
        mov     ax, SEL_DATA32_R3
        mov     ds, ax                          ; reads and writes (accessed bit) the GDT
        mov     es, ax
        mov     bx, SEL_DATA32_R3
        lar     eax, bx
        setz    byte [r3_lar]
        verr    bx
        setz    byte [r3_verr]
        int     0x40                            ; IDT, TSS, ring-0 stack: supervisor pages
.r3sys_int_after:
        RING3_EXIT
.r3sys_back:
        EXPECT_EXC_EIP 'ring 3 with supervisor-only GDT/IDT/TSS/stack: int 40h', 0x40, -1, .r3sys_int_after
        CHECK32M dword [r3_lar], 0xFF, 1, 'ring 3: lar (GDT read)'
        CHECK32M dword [r3_verr], 0xFF, 1, 'ring 3: verr (GDT read)'
        CHECK32M dword [GDT_BASE + (SEL_DATA32_R3 & ~3) + 4], 0x100, 0x100, 'ring 3: accessed bit written in a supervisor page'
        CHECK32 dword [exc_hesp], STACK0_TOP - 20, 'ring 3: frame on the supervisor ring-0 stack'

; ---- a task switch loads CR3 ---------------------------------------------------------------------
        CHECK32 dword [TP], 0x10000000, 'main task: TP maps 0x100000'
        jmp     SEL_TSS_B:0
        mov     eax, cr3
        CHECK32 eax, PD, 'back from task B: CR3 from the main TSS'
        CHECK32 dword [TP], 0x10000000, 'back from task B: TP maps 0x100000 again'
        CHECK32 dword [tb_count], 1, 'task B ran'
        CHECK32 dword [tb_cr3], PD2, 'task B: CR3 from its TSS'
        CHECK32 dword [tb_val], 0x10001000, 'task B: TP maps 0x101000'
        clts

; ---- code modified through an alias -------------------------------------------------------------
        call    smc_target
        mov     [smc_val], eax
        mov     dword [ALIAS + ((smc_target - $$ + 0x7C00) & 0xFFF) + 1], 0x22222222
        call    smc_target
        mov     [smc_val + 4], eax
        CHECK32 dword [smc_val], 0x11111111, 'smc: first call'
        CHECK32 dword [smc_val + 4], 0x22222222, 'smc: after a write through the alias'

        FINISH32

task_b:
        mov     eax, cr3
        mov     [tb_cr3], eax
        mov     eax, [TP]
        mov     [tb_val], eax
        inc     dword [tb_count]
        jmp     SEL_TSS:0
        jmp     task_b

        align   16
smc_target:
        mov     eax, 0x11111111
        ret
