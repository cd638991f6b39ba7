; Mode 12h by direct register programming (planar, 640x480, 16 colours): the DAC's
; first 16 entries set to (4c, 63-4c, 2c) (6-bit), and 16 vertical stripes 40
; pixels wide of colours 0..15 drawn with write mode 2 and the bit mask, one byte
; (8 pixels) at a time, with a latch load before each write. The boot test checks
; the --screenshot pixels of each stripe.
%include "start.inc"
        mov     si, mode12_regs
        call    set_vga_mode
        mov     dx, 0x3C8
        xor     al, al
        out     dx, al
        inc     dx
        xor     bl, bl                  ; c
.dac:   mov     al, bl
        shl     al, 2
        out     dx, al                  ; red 4c
        mov     al, 63
        mov     ah, bl
        shl     ah, 2
        sub     al, ah
        out     dx, al                  ; green 63-4c
        mov     al, bl
        shl     al, 1
        out     dx, al                  ; blue 2c
        inc     bl
        cmp     bl, 16
        jb      .dac
        mov     dx, 0x3CE
        mov     ax, 0x0205              ; write mode 2
        out     dx, ax
        mov     ax, 0xFF08              ; bit mask: all eight pixels
        out     dx, ax
        mov     ax, 0xA000
        mov     es, ax
        xor     di, di                  ; byte offset
        mov     bp, 480
.row:   xor     bx, bx                  ; byte within the row, 0..79
.col:   mov     ax, bx
        mov     cl, 5
        div     cl                      ; 5 bytes = 40 pixels per stripe: AL = colour
        mov     ah, [es:di]             ; load the latches
        stosb
        inc     bx
        cmp     bx, 80
        jb      .col
        dec     bp
        jnz     .row
        cli
        hlt

%include "vga_regs.inc"
