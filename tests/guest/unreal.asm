; unreal: "big real" mode. A segment register loaded in protected mode keeps
; its descriptor cache (base, 4 GiB limit) after the return to real mode, and
; later real-mode loads change only selector and base (SDM Vol. 3 §9.9.2 and
; §20.1.1), so 32-bit addresses reach memory above 1 MiB.
;
; Checks: A20 is enabled at start (FFFF:0510 and 0000:0500 are different
; bytes); in plain real mode a 32-bit offset above 0xFFFF faults (#GP); then
; through PE=1 (LGDT, MOV CR0, far JMP to a 16-bit code segment, loads of DS,
; ES, FS with a flat 4 GiB data descriptor) and back (PE=0, far JMP): the
; registers still reach 2 MiB, 3 MiB and 15 MiB after real-mode reloads,
; A20 is visible through the flat segment, a 32-bit address-size REP MOVSD
; copies above 1 MiB, and GS (not loaded in protected mode) still faults.
; Interrupts stay disabled while PE=1 (no exception may happen there).

%define TEST_NAME 'unreal'
        org     0x7C00
%include "common.inc"

absolute 0x0600
exc_count:      resw 1
exc_vec:        resw 1
exc_ip:         resw 1
resume_ip:      resw 1
section .text

%macro ARM 1
        mov     word [exc_count], 0
        mov     word [exc_vec], 0xFFFF
        mov     word [exc_ip], 0xFFFF
        mov     word [resume_ip], %1
%endmacro

main:
        INIT
        SET_VECTOR 13, catch_gp
        SET_VECTOR 12, catch_ss

; ---- A20 on at start: FFFF:0510 is linear 0x100500, not 0x000500 ---------------------------
        mov     ax, 0xFFFF
        mov     es, ax
        mov     byte [0x0500 + 0x20], 0x11          ; 0000:0520 (scaffolding area, unused byte)
        mov     byte [es:0x0530], 0x22              ; FFFF:0530 = 0x100520
        EXPECTB [0x0520], 0x11, 'a20: FFFF:0530 aliased 0000:0520 (A20 off?)'
        EXPECTB [es:0x0530], 0x22, 'a20: FFFF:0530 readback'
        xor     ax, ax
        mov     es, ax

; ---- plain real mode: offset 0x10000 is past the 64 KiB limit -------------------------------
        ARM     rm1_r
        mov     esi, 0x10000
rm1_f:  mov     al, [esi]
        FAILNOW 'rm1: [esi=10000] in real mode did not fault'
rm1_r:  EXPECTW [exc_count], 1, 'rm1: #GP count'
        EXPECTW [exc_ip], rm1_f, 'rm1: #GP pushed IP'

; ---- into protected mode and back ---------------------------------------------------------------
        cli
        lgdt    [gdt_desc]
        mov     eax, cr0
        or      al, 1
        mov     cr0, eax
        jmp     0x08:pm16
pm16:
        mov     ax, 0x10
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     eax, cr0
        and     al, 0xFE
        mov     cr0, eax
        jmp     0x0000:rm_again
rm_again:
        xor     ax, ax                  ; real-mode reloads: base 0, the 4 GiB limit stays
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax
        mov     sp, 0x7C00

        mov     eax, cr0
        and     eax, 1
        EXPECTD eax, 0, 'cr0.PE still set after the return'

; ---- 32-bit addressing above 1 MiB ------------------------------------------------------------
        mov     esi, 0x00200000
        mov     dword [esi], 0xCAFEBABE
        mov     dword [esi + 4], 0x01234567
        mov     eax, [esi]
        EXPECTD eax, 0xCAFEBABE, 'ds:[0x200000] round trip'
        mov     edi, 0x00300000
        mov     dword [es:edi], 0x8BADF00D
        EXPECTD [es:edi], 0x8BADF00D, 'es:[0x300000] round trip'
        mov     ebx, 0x00F00000
        mov     word [fs:ebx + 0xFFE], 0x1357
        EXPECTW [fs:ebx + 0xFFE], 0x1357, 'fs:[0xF00FFE] round trip'
        ; Different addresses are different memory (no 1 MiB or 64 KiB wrap).
        mov     dword [0x1000], 0x0
        mov     dword [dword 0x00101000], 0x5555AAAA
        mov     eax, [dword 0x00101000]
        EXPECTD eax, 0x5555AAAA, 'ds:[0x101000] round trip'
        EXPECTD [dword 0x1000], 0, 'ds:[0x1000] aliased 0x101000'
        ; A20 seen through the flat segment: 0x100520 holds what FFFF:0530 wrote.
        EXPECTB [dword 0x100520], 0x22, 'a20: ds:[0x100520] != FFFF:0530'

; ---- a32 REP MOVSD above 1 MiB ---------------------------------------------------------------
        mov     esi, 0x00200000
        mov     edi, 0x00280000
        mov     ecx, 2
        a32 rep movsd
        EXPECTD ecx, 0, 'a32 rep movsd ecx'
        EXPECTD esi, 0x00200008, 'a32 rep movsd esi'
        EXPECTD edi, 0x00280008, 'a32 rep movsd edi'
        EXPECTD [dword 0x00280000], 0xCAFEBABE, 'a32 rep movsd dword 0'
        EXPECTD [dword 0x00280004], 0x01234567, 'a32 rep movsd dword 1'

; ---- GS was not loaded in protected mode: its limit is still 64 KiB ----------------------------
        ARM     gs1_r
        mov     esi, 0x00200000
gs1_f:  mov     eax, [gs:esi]
        FAILNOW 'gs1: gs:[0x200000] did not fault'
gs1_r:  EXPECTW [exc_count], 1, 'gs1: #GP count'
        EXPECTW [exc_vec], 13, 'gs1: vector'
        EXPECTW [exc_ip], gs1_f, 'gs1: pushed IP'
        ; ... and neither is SS (reloaded in real mode, limit from before: 64 KiB).
        ARM     ss1_r
        mov     ebp, 0x00200000
ss1_f:  mov     eax, [ebp]
        FAILNOW 'ss1: ss:[0x200000] did not fault'
ss1_r:  EXPECTW [exc_count], 1, 'ss1: exception count'
        EXPECTW [exc_vec], 12, 'ss1: vector (#SS)'

        FINISH

; ---- data ---------------------------------------------------------------------------------------
        align   8
gdt:    dq      0
        ; 0x08: 16-bit code, base 0, limit 0xFFFF, present, DPL 0, execute/read
        dw      0xFFFF, 0x0000
        db      0x00, 0x9A, 0x00, 0x00
        ; 0x10: data, base 0, limit 0xFFFFF pages (4 GiB), present, DPL 0, read/write, G=1
        dw      0xFFFF, 0x0000
        db      0x00, 0x92, 0x8F, 0x00
gdt_end:
gdt_desc:
        dw      gdt_end - gdt - 1
        dd      gdt

; #GP / #SS catcher: records vector and IP, resumes at resume_ip.
catch_gp:
        push    word 13
        jmp     catch_common
catch_ss:
        push    word 12
catch_common:
        push    bp
        mov     bp, sp
        push    ax
        push    ds
        xor     ax, ax
        mov     ds, ax
        mov     ax, [bp + 2]
        mov     [exc_vec], ax
        mov     ax, [bp + 4]
        mov     [exc_ip], ax
        inc     word [exc_count]
        mov     ax, [resume_ip]
        mov     [bp + 4], ax
        pop     ds
        pop     ax
        pop     bp
        add     sp, 2
        iret
