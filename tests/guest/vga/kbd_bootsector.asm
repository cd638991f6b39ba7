; A boot sector for SeaBIOS that reads a line from the keyboard through the BIOS
; (INT 16h AH=10h, the enhanced read, fed by SeaBIOS's PS/2 driver and IRQ 1) and
; echoes it through INT 10h teletype output: printable keys as themselves, keys
; without a character (arrows, F-keys) as <SCAN> in hex; Enter ends the line, which
; is printed again as "Got: ..." and on port 0xE9, then CLI; HLT ends the run.
bits 16
org 0x7C00
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7C00
        sti
        mov     si, prompt
        call    print
        mov     di, line
.key:   mov     ah, 0x10
        int     0x16
        cmp     al, 13
        je      .enter
        test    al, al
        jz      .special
        cmp     al, 0xE0
        je      .special
        stosb
        call    putc
        jmp     .key
.special:
        mov     al, '<'
        stosb
        call    putc
        mov     dl, ah
        shr     ah, 4
        mov     al, ah
        call    hexdigit
        mov     al, dl
        and     al, 0x0F
        call    hexdigit
        mov     al, '>'
        stosb
        call    putc
        jmp     .key
.enter: mov     byte [di], 0
        mov     si, got
        call    print
        mov     si, line
        call    print
        mov     si, line
        mov     dx, 0xE9
.dbg:   lodsb
        test    al, al
        jz      .done
        out     dx, al
        jmp     .dbg
.done:  mov     al, 10
        out     dx, al
        cli
        hlt

hexdigit:
        add     al, '0'
        cmp     al, '9'
        jbe     .d
        add     al, 'A' - '9' - 1
.d:     stosb
        ; fall through to putc
putc:   push    ax
        push    bx
        mov     ah, 0x0E
        xor     bx, bx
        int     0x10
        pop     bx
        pop     ax
        ret

print:  lodsb
        test    al, al
        jz      .r
        call    putc
        jmp     print
.r:     ret

prompt: db "Type: ", 0
got:    db 13, 10, "Got: ", 0

        times 510 - ($ - $$) db 0
        dw 0xAA55

line:                                   ; the line read (after the boot sector in RAM)
