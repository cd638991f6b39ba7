; SeaVGABIOS's VBE functions on the Bochs DISPI interface: mode 0x101 (640x480,
; 256 colours) by INT 10h AX=4F02, its mode information (the LFB at the Bochs
; default 0xE0000000), pixels written through the 64 KiB window at A000:0000:
; (10, 10) in colour 4 and row 100 in colour 15 of the ROM's default palette,
; row 110 in colour 2 through bank 1 (INT 10h AX=4F05).
; Reports on port 0xE9; the boot test checks the --screenshot pixels.
%include "start.inc"
        call    vgabios_init
        mov     ax, 0x4F01              ; mode information of 0x101 into 0000:2000
        mov     cx, 0x0101
        mov     di, 0x2000
        int     0x10
        cmp     ax, 0x004F
        jne     .fail_info
        cmp     dword [0x2000 + 0x28], 0xE0000000
        jne     .fail_lfb
        mov     ax, 0x4F02
        mov     bx, 0x0101
        int     0x10
        cmp     ax, 0x004F
        jne     .fail_set
        mov     ax, 0xA000
        mov     es, ax
        mov     byte [es:10 * 640 + 10], 4
        mov     di, 100 * 640           ; row 100: offset 64000, in bank 0
        mov     al, 15
        mov     cx, 640
        rep     stosb
        mov     ax, 0x4F05              ; window A to bank 1 (64 KiB granularity)
        xor     bx, bx
        mov     dx, 1
        int     0x10
        cmp     ax, 0x004F
        jne     .fail_bank
        mov     di, 110 * 640 - 65536   ; row 110 in colour 2, through bank 1
        mov     al, 2
        mov     cx, 640
        rep     stosb
        mov     si, pass_msg
        jmp     .report
.fail_info:
        mov     si, info_msg
        jmp     .report
.fail_lfb:
        mov     si, lfb_msg
        jmp     .report
.fail_set:
        mov     si, set_msg
        jmp     .report
.fail_bank:
        mov     si, bank_msg
.report:
        call    debug_str
        cli
        hlt

pass_msg: db "PASS vgabios-vbe", 10, 0
info_msg: db "FAIL vgabios-vbe: INT 10h AX=4F01 failed", 10, 0
lfb_msg:  db "FAIL vgabios-vbe: the mode's LFB is not at 0xE0000000", 10, 0
set_msg:  db "FAIL vgabios-vbe: INT 10h AX=4F02 failed", 10, 0
bank_msg: db "FAIL vgabios-vbe: INT 10h AX=4F05 failed", 10, 0

%include "vgabios_init.inc"
