; pm_switch: switches between real mode and protected mode in both directions,
; twice, and checks the segment descriptor caches across the switches.
;
; SDM Vol. 3 §9.9.1 (switching to protected mode: LGDT, CR0.PE = 1, a far JMP
; to load CS), §9.9.2 (switching back: far JMP to a 16-bit code segment with a
; 64 KiB limit, segment loads, PE = 0, a far JMP to real-mode code, LIDT of the
; IVT, segment loads), §20.1.1 (in real mode a segment load sets only selector
; and base = selector * 16; the limit and attributes stay in the hidden part,
; which is what "unreal"/big-real mode relies on).
;
; Round 0: real -> 16-bit PM (CS = 16-bit code segment: 16-bit default operand
; size, CR0.PE visible through SMSW, a base-0x20000 data segment, a 4 GiB flat
; data segment reached with a 32-bit address, INT n through the 32-bit IDT gate
; from 16-bit code pushing a 32-bit frame) -> 32-bit PM (32-bit pushes, INT n)
; -> back to real mode through a 16-bit segment.
; Round 1: real -> 32-bit PM directly -> real mode again.
; After each return: segment registers not reloaded in real mode keep their
; protected-mode base (ES = 0x20000); reloaded ones get base = selector * 16 but
; keep their limits (DS, GS 4 GiB: 32-bit offsets above 64 KiB work; FS 64 KiB:
; a 32-bit offset of 0x10000 faults with #GP); the real-mode IVT is used again
; by INT n; CR0.PE reads 0.

%define TEST_NAME 'pm_switch'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
round:          resd 1
marker:         resd 1
rm_exc_count:   resw 1
rm_exc_vec:     resw 1
rm_resume_ip:   resw 1
rm_resume_sp:   resw 1
rm_int60_count: resw 1
v16_cs:         resd 1
v16_msw:        resd 1
v16_sp0:        resd 1
v16_sp1:        resd 1
v16_spint:      resd 1
v16_ss:         resd 1
v32_esp0:       resd 1
v32_esp1:       resd 1
v32_cr0:        resd 1
scratch_es:     resd 1          ; read through ES = 0070h (base 0x700) in real mode
section .text

SEL_BASE20000   equ 0x70            ; data, base 0x20000, limit 0xFFFF

; RM_ARM resume: catch one real-mode #GP (vector 13) and continue at resume.
%macro RM_ARM 1
        mov     word [cs:rm_exc_count], 0
        mov     word [cs:rm_exc_vec], 0xFFFF
        mov     word [cs:rm_resume_ip], %1
        mov     [cs:rm_resume_sp], sp
%endmacro

main:
        INIT
        call    pm_setup
        SETDESC SEL_BASE20000, 0x20000, 0xFFFF, ACC_DATA0, FL_16
        SET_VECTOR 13, rm_catch13
        SET_VECTOR 0x60, rm_int60
        mov     dword [round], 0

round_start:
        mov     eax, [round]
        shl     eax, 8
        add     eax, 0x3C5A0000
        mov     [marker], eax                   ; a different marker each round
        mov     word [rm_int60_count], 0
        cli
        o32 lgdt [pm_gdtr]
        o32 lidt [pm_idtr32]
        mov     eax, cr0
        or      al, CR0_PE
        mov     cr0, eax
        cmp     dword [round], 0
        jne     .direct32
        jmp     SEL_CODE16:pm16                 ; round 0: 16-bit protected mode first
.direct32:
        jmp     dword SEL_CODE32:pm32_direct    ; round 1: straight into 32-bit code

; ---- 16-bit protected mode ------------------------------------------------------------------
pm16:
        mov     ax, SEL_DATA16
        mov     ss, ax                          ; 64 KiB stack, B = 0: SP-based pushes
        mov     ax, SEL_DATA32
        mov     ds, ax                          ; flat 4 GiB
        mov     ax, SEL_BASE20000
        mov     es, ax
        mov     ax, SEL_DATA32
        mov     gs, ax
        mov     ax, SEL_DATA16
        mov     fs, ax
        mov     dword [v16_cs], 0
        mov     [v16_cs], cs
        mov     dword [v16_msw], 0
        smsw    [v16_msw]
        mov     dword [v16_ss], 0
        mov     [v16_ss], ss
        movzx   eax, sp
        mov     [v16_sp0], eax
        push    ax                              ; 16-bit code: a 2-byte push
        movzx   eax, sp
        mov     [v16_sp1], eax
        pop     ax
        mov     eax, [marker]
        mov     [dword 0x200000], eax           ; 32-bit offset through the 4 GiB DS
        mov     [es:0x10], eax                  ; linear 0x20010
        ; INT 0x60 through a 32-bit interrupt gate from 16-bit code: a 32-bit frame
        ; (EFLAGS, CS, EIP as dwords, SDM Vol. 3 §6.12.1) on the 16-bit stack.
        ARM_SKIP 0
        movzx   eax, sp
        mov     [v16_spint], eax
        int     0x60
pm16_int_ret:
        DISARM
        jmp     dword SEL_CODE32:pm32

; ---- 32-bit protected mode ------------------------------------------------------------------
bits 32
pm32:
        mov     ax, SEL_DATA32
        mov     ss, ax
        and     esp, 0xFFFF
        CHECK32M dword [v16_cs], 0xFFFF, SEL_CODE16, 'pm16: CS'
        CHECK32M dword [v16_ss], 0xFFFF, SEL_DATA16, 'pm16: SS'
        CHECK32M dword [v16_msw], 0x0011, 0x0011, 'pm16: SMSW PE and ET'
        mov     eax, [v16_sp0]
        sub     eax, [v16_sp1]
        CHECK32 eax, 2, 'pm16: PUSH AX in 16-bit code moved SP by'
        CAUGHT  'pm16: INT 60h', 0x60, -1, pm16_int_ret
        CHECK32 dword [exc_cs], SEL_CODE16, 'pm16: INT 60h pushed CS'
        mov     eax, [v16_spint]
        sub     eax, 12
        CHECK32 dword [exc_hesp], eax, 'pm16: INT 60h frame (3 dwords on the 16-bit stack) at'
        CHECK32 dword [exc_hss], SEL_DATA16, 'pm16: INT 60h handler SS'
        CHECK32 dword [0x20010], dword [marker], 'pm16: write through ES (base 0x20000)'
        jmp     pm32_common

pm32_direct:
        mov     ax, SEL_DATA32
        mov     ds, ax
        mov     ss, ax
        and     esp, 0xFFFF
        mov     eax, [marker]
        mov     [0x200000], eax
        mov     [0x20010], eax

pm32_common:
        mov     ax, SEL_DATA32
        mov     ds, ax
        mov     es, ax
        CHECK32 dword [0x200000], dword [marker], 'pm32: marker at 2 MiB'
        mov     [v32_esp0], esp
        push    eax                             ; 32-bit code: a 4-byte push
        mov     [v32_esp1], esp
        pop     eax
        mov     eax, [v32_esp0]
        sub     eax, [v32_esp1]
        CHECK32 eax, 4, 'pm32: PUSH EAX moved ESP by'
        mov     eax, cr0
        mov     [v32_cr0], eax
        CHECK32M dword [v32_cr0], CR0_PG | CR0_PE | 0x10, CR0_PE | 0x10, 'pm32: CR0 PG/PE/ET'
        mov     ax, cs
        movzx   eax, ax
        CHECK32 eax, SEL_CODE32, 'pm32: CS'
        ARM_SKIP 0
        int     0x60
pm32_int_ret:
        DISARM
        CAUGHT  'pm32: INT 60h', 0x60, -1, pm32_int_ret
        CHECK32 dword [exc_cs], SEL_CODE32, 'pm32: INT 60h pushed CS'
        CHECK32M dword [exc_eflags], 0x0002, 0x0002, 'pm32: INT 60h pushed EFLAGS bit 1'

        ; ---- back to real mode (SDM Vol. 3 §9.9.2) ----
        mov     ax, SEL_BASE20000
        mov     es, ax                          ; base 0x20000, not reloaded in real mode
        mov     ax, SEL_DATA32
        mov     ds, ax                          ; 4 GiB: becomes "unreal"
        mov     gs, ax
        mov     ax, SEL_DATA16
        mov     fs, ax                          ; 64 KiB
        jmp     SEL_CODE16:back16
bits 16
back16:
        mov     ax, SEL_DATA16
        mov     ss, ax
        mov     eax, cr0
        and     al, ~CR0_PE
        mov     cr0, eax
        jmp     0:back_rm
back_rm:
        xor     ax, ax
        mov     ss, ax
        o32 lidt [pm_ivtr]
        ; ES was not reloaded: its cached base is still 0x20000.
        mov     ebx, [es:0x10]
        xor     ax, ax
        mov     ds, ax                          ; base 0, limit still 4 GiB
        EXPECTD ebx, [marker], 'real: ES not reloaded keeps base 0x20000'
        RM_ARM  .ds_done
        mov     ebx, [dword 0x200000]           ; DS: 32-bit offset, limit kept at 4 GiB
        EXPECTD ebx, [marker], 'real: DS (unreal) read at 0x200000'
.ds_done:
        EXPECTW [rm_exc_count], 0, 'real: DS with kept 4 GiB limit faulted'
        ; GS reloaded with 0x2000: base 0x20000, limit 4 GiB.
        mov     ax, 0x2000
        mov     gs, ax
        RM_ARM  .gs_done
        mov     ebx, [gs:dword 0x1E0000]        ; linear 0x200000
        EXPECTD ebx, [marker], 'real: GS = 2000h (unreal) read at offset 0x1E0000'
.gs_done:
        EXPECTW [rm_exc_count], 0, 'real: GS with kept 4 GiB limit faulted'
        ; FS kept its 64 KiB limit: offset 0x10000 faults (#GP, SDM Vol. 3 §20.1.1), 0xFFFF does not.
        xor     ax, ax
        mov     fs, ax
        RM_ARM  .fs_ok
        mov     bl, [fs:0xFFFF]
.fs_ok: EXPECTW [rm_exc_count], 0, 'real: FS byte at 0xFFFF faulted'
        RM_ARM  .fs_done
        mov     bl, [fs:dword 0x10000]
        FAILNOW 'real: FS (64 KiB limit) offset 0x10000 did not fault'
.fs_done:
        EXPECTW [rm_exc_count], 1, 'real: FS offset 0x10000 #GP count'
        EXPECTW [rm_exc_vec], 13, 'real: FS offset 0x10000 vector'
        ; ES reloads: 2000h gives base 0x20000 again; 0070h gives base 0x700 (not the GDT entry).
        mov     ax, 0x2000
        mov     es, ax
        EXPECTD [es:0x10], [marker], 'real: ES = 2000h read'
        mov     dword [scratch_es], 0x71071071
        mov     ax, SEL_BASE20000
        mov     es, ax
        EXPECTD [es:scratch_es - 0x700], 0x71071071, 'real: ES = 0070h is base 0x700'
        xor     ax, ax
        mov     es, ax
        ; The IVT is in use again.
        int     0x60
        EXPECTW [rm_int60_count], 1, 'real: INT 60h through the IVT'
        smsw    ax
        EXPECTW ax, 0x0010, 'real: MSW (PE clear, ET set)'
        mov     ax, cs
        EXPECTW ax, 0, 'real: CS'

        inc     dword [round]
        cmp     dword [round], 2
        jb      round_start
        FINISH

; Real-mode #GP catcher: count, note the vector, resume where RM_ARM said.
rm_catch13:
        inc     word [cs:rm_exc_count]
        mov     word [cs:rm_exc_vec], 13
        mov     sp, [cs:rm_resume_sp]
        jmp     word [cs:rm_resume_ip]

rm_int60:
        inc     word [cs:rm_int60_count]
        iret
