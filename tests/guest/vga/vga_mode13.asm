; Mode 13h by direct register programming (chain-4, 320x200, 256 colours): DAC
; entries 1-3 set through the write index, the top 100 lines in colour 1, the
; bottom 100 in colour 2, a 10x10 square of colour 3 at (100, 50). The boot test
; checks the --screenshot pixels:
;   (0, 0) = (40, 80, 120), (0, 150) = (252, 0, 0) ... see vga_boot_test.sh
%include "start.inc"
        mov     si, mode13_regs
        call    set_vga_mode
        mov     dx, 0x3C8               ; DAC write index 1, then r, g, b of entries 1..3
        mov     al, 1
        out     dx, al
        inc     dx
        mov     si, dac
        mov     cx, 9
.dac:   lodsb
        out     dx, al
        loop    .dac
        mov     ax, 0xA000
        mov     es, ax
        xor     di, di
        mov     ax, 0x0101
        mov     cx, 320 * 100 / 2
        rep     stosw
        mov     ax, 0x0202
        mov     cx, 320 * 100 / 2
        rep     stosw
        mov     di, 50 * 320 + 100
        mov     bx, 10
.sq:    mov     cx, 10
        mov     al, 3
        rep     stosb
        add     di, 320 - 10
        dec     bx
        jnz     .sq
        cli
        hlt

dac:    db 10, 20, 30,  63, 0, 0,  0, 63, 0

%include "vga_regs.inc"
