; Debian's VGA BIOS sets mode MODE (assembled once per mode: 04h, 06h, 0Dh, 12h,
; 13h) and draws through INT 10h AH=0Ch: a diagonal (x = y, 0..99) in colour 3
; and the row y = 20, x = 0..199, in colour 1. The boot test checks the
; --screenshot: the BIOS's own register tables through the renderer, the CGA
; modes' interleaved banks included.
%include "start.inc"
        call    vgabios_init
        mov     ax, MODE
        int     0x10
        xor     cx, cx
.diag:  mov     dx, cx
        mov     ax, 0x0C03
        xor     bx, bx
        int     0x10
        inc     cx
        cmp     cx, 100
        jb      .diag
        xor     cx, cx
.row:   mov     dx, 20
        mov     ax, 0x0C01
        xor     bx, bx
        int     0x10
        inc     cx
        cmp     cx, 200
        jb      .row
        cli
        hlt

%include "vgabios_init.inc"
