; Mode 03h by direct register programming: text through the B8000 window in
; odd/even addressing, read back through the same window, the cursor placed with
; the CRTC. The boot test reads the screen from --display text:
;   row 0  "KESTREL VGA TEXT MODE 03"
;   row 1  "readback ok" (or "readback FAIL")
;   row 24 "bottom line" at column 69, ending in the last column
%include "start.inc"
        mov     si, mode03_regs
        call    set_vga_mode
        call    wait_retrace
        mov     ax, 0xB800
        mov     es, ax
        xor     di, di
        mov     ax, 0x0720              ; blank the screen: space, grey on black
        mov     cx, 80 * 25
        rep     stosw
        xor     di, di
        mov     si, line0
        call    put_str
        ; Read the first character and attribute back through the window.
        cmp     word [es:0], 0x1F00 | 'K'
        jne     .bad
        mov     si, ok_msg
        jmp     .show
.bad:   mov     si, bad_msg
.show:  mov     di, 160
        call    put_str
        mov     di, (24 * 80 + 69) * 2
        mov     si, last_line
        call    put_str
        ; Cursor at row 2, column 0 (offset 160 characters).
        mov     dx, 0x3D4
        mov     ax, 0x000E
        out     dx, ax
        mov     ax, (160 << 8) | 0x0F
        out     dx, ax
        cli
        hlt

; Writes the NUL-terminated string at DS:SI to ES:DI, white on blue.
put_str:
        lodsb
        test    al, al
        jz      .done
        mov     ah, 0x1F
        stosw
        jmp     put_str
.done:  ret

line0:     db "KESTREL VGA TEXT MODE 03", 0
ok_msg:    db "readback ok", 0
bad_msg:   db "readback FAIL", 0
last_line: db "bottom line", 0

%include "vga_regs.inc"
