; The PS/2 keyboard through the i8042 by polling (no BIOS): every byte read from
; port 0x60 goes to row 1 of the mode 03h text screen as two hex digits and a
; space; set 1 make codes of letters, digits, space and '!' (with Shift held) are
; echoed as characters on row 0. Ends (CLI; HLT) after the Enter key's release
; (0x9C in set 1; F0 5A in set 2). Built twice: as is (the controller translates
; to set 1, as after POST) and with -DSET2 (translation off: raw set 2).
%include "start.inc"
        mov     si, mode03_regs
        call    set_vga_mode
        mov     ax, 0xB800
        mov     es, ax
        xor     di, di
        mov     ax, 0x0720
        mov     cx, 80 * 25
        rep     stosw
%ifdef SET2
        mov     al, 0x60                ; write the command byte: no translation, no IRQs
        out     0x64, al
.wait:  in      al, 0x64
        test    al, 2
        jnz     .wait
        mov     al, 0x00
        out     0x60, al
%endif
        xor     bp, bp                  ; row 0 column (in bytes)
        mov     di, 160                 ; row 1 position
        xor     bl, bl                  ; Shift held
        xor     bh, bh                  ; set 2: the last byte was F0
.poll:  in      al, 0x64
        test    al, 1
        jz      .poll
        in      al, 0x60
        mov     dl, al
        call    put_hex
%ifdef SET2
        cmp     dl, 0xF0
        jne     .s2
        mov     bh, 1
        jmp     .poll
.s2:    cmp     dl, 0x5A
        jne     .notend2
        test    bh, bh
        jnz     .done
.notend2:
        xor     bh, bh
        jmp     .poll
%else
        cmp     dl, 0x9C                ; Enter released
        je      .done
        cmp     dl, 0x2A
        jne     .nsh
        mov     bl, 1
        jmp     .poll
.nsh:   cmp     dl, 0xAA
        jne     .nshr
        xor     bl, bl
        jmp     .poll
.nshr:  test    dl, 0x80
        jnz     .poll                   ; other releases
        movzx   si, dl
        mov     al, [keymap + si]
        test    bl, bl
        jz      .plain
        mov     al, [shiftmap + si]
.plain: test    al, al
        jz      .poll
        mov     ah, 0x07
        mov     [es:bp], ax
        add     bp, 2
        jmp     .poll
%endif
.done:  cli
        hlt

; Writes DL as two hex digits and a space at ES:DI.
put_hex:
        mov     al, dl
        shr     al, 4
        call    .digit
        mov     al, dl
        and     al, 0x0F
        call    .digit
        mov     ax, 0x0720
        stosw
        ret
.digit: add     al, '0'
        cmp     al, '9'
        jbe     .d
        add     al, 'A' - '9' - 1
.d:     mov     ah, 0x07
        stosw
        ret

; Set 1 make codes 0x00-0x39 to characters (0: not echoed).
keymap:
        db 0, 0, "1234567890", 0, 0, 0, 0
        db "qwertyuiop", 0, 0, 0, 0
        db "asdfghjkl", 0, 0, 0, 0, 0
        db "zxcvbnm", 0, 0, 0, 0, 0, 0, " "
shiftmap:
        db 0, 0, "!", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        db "QWERTYUIOP", 0, 0, 0, 0
        db "ASDFGHJKL", 0, 0, 0, 0, 0
        db "ZXCVBNM", 0, 0, 0, 0, 0, 0, " "

%include "vga_regs.inc"
