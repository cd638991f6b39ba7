; SeaVGABIOS (Debian's vgabios-stdvga.bin) sets mode 03h and prints through INT 10h
; teletype output; the boot test reads the text from --display text and checks
; the --screenshot for glyphs drawn with the font the ROM loaded into plane 2.
%include "start.inc"
        call    vgabios_init
        mov     ax, 0x0003              ; set mode 03h
        int     0x10
        mov     si, hello
.next:  lodsb
        test    al, al
        jz      .done
        mov     ah, 0x0E                ; teletype output, page 0
        xor     bx, bx
        int     0x10
        jmp     .next
.done:  cli
        hlt

hello:  db "Hello from SeaVGABIOS", 13, 10, "second line", 0

%include "vgabios_init.inc"
