; smc: self-modifying code. Decoded blocks must be dropped when the guest
; writes into a page that holds them, including the block being executed
; (SDM Vol. 3 §8.1.3: on P6-family processors a write to a code byte that has
; been prefetched or decoded is detected, and the new bytes execute).
;
; Cases:
;   a1-a6  stores into the block being executed, patching instructions ahead
;          of the store: an immediate a few instructions ahead, the very next
;          instruction, an opcode, a change of instruction boundaries, a
;          dword store over three instructions, a REP STOSB over the rest of
;          the block
;   a7     a loop whose body patches its own immediate on every iteration
;   b1-b4  a routine on another page: called, patched (immediate, opcode,
;          through another segment alias), called again
;   c1-c2  REP MOVSB copies new code over a routine that already ran, and over
;          the instructions right after the REP MOVSB itself
;   d1-d2  code written into a fresh page at 0x20000 and called far, twice
;   e1-e3  an instruction straddling the 0x9000 page boundary: patching its
;          bytes on the second page, and on the first page

%define TEST_NAME 'smc'
        org     0x7C00
%include "common.inc"

main:
        INIT

; ---- a1: the immediate of an instruction three instructions ahead ------------------------
        mov     word [a1_insn + 1], 0x1234
        nop
        nop
a1_insn:
        mov     ax, 0x0000              ; B8 00 00 -> B8 34 12
        EXPECTW ax, 0x1234, 'a1 patched immediate a few insns ahead'

; ---- a2: the very next instruction ------------------------------------------------------
        mov     byte [a2_insn + 1], 0x77
a2_insn:
        mov     al, 0x00                ; B0 00 -> B0 77
        EXPECTB al, 0x77, 'a2 patched immediate of the next insn'

; ---- a3: an opcode: NOP -> INC AX --------------------------------------------------------
        mov     ax, 5
        mov     byte [a3_insn], 0x40    ; 90 -> 40 (inc ax)
        nop
a3_insn:
        nop
        EXPECTW ax, 6, 'a3 patched opcode nop->inc ax'

; ---- a4: new instruction boundaries: MOV AL, 11h (B0 11) -> INC AX; INC AX (40 40) --------
        mov     ax, 5
        mov     word [a4_insn], 0x4040
a4_insn:
        mov     al, 0x11
        EXPECTW ax, 7, 'a4 patched boundaries mov al->inc ax;inc ax'

; ---- a5: one dword store over three one-byte instructions --------------------------------
        ; 90 90 90 90 -> 40 43 43 43 (inc ax; inc bx; inc bx; inc bx)
        xor     ax, ax
        xor     bx, bx
        mov     dword [a5_insn], 0x43434340
a5_insn:
        nop
        nop
        nop
        nop
        EXPECTW ax, 1, 'a5 dword store over 4 insns (ax)'
        EXPECTW bx, 3, 'a5 dword store over 4 insns (bx)'

; ---- a6: REP STOSB of NOPs over the rest of the block -------------------------------------
        mov     ax, 0x1234
        mov     di, a6_insn
        push    ax
        mov     al, 0x90
        mov     cx, 3
        rep stosb
        pop     ax
a6_insn:
        mov     ax, 0xDEAD              ; B8 AD DE -> 90 90 90
        EXPECTW ax, 0x1234, 'a6 rep stosb nops over following insn'
        EXPECTW cx, 0, 'a6 cx'

; ---- a7: a loop that patches its own immediate -------------------------------------------
        xor     bx, bx
        mov     cx, 5
a7_loop:
a7_insn:
        db      0x83, 0xC3, 0x01        ; add bx, 1 (imm8 at a7_insn + 2)
        inc     byte [a7_insn + 2]
        loop    a7_loop
        EXPECTW bx, 1 + 2 + 3 + 4 + 5, 'a7 loop patching its own immediate'
        mov     byte [a7_insn + 2], 1   ; restore (not needed, keeps the binary's meaning)

; ---- b: a routine on another page ----------------------------------------------------------
        mov     ax, 0
        call    other_routine
        EXPECTW ax, 0x1111, 'b1 routine before patch'
        mov     word [other_routine + 1], 0x2222
        mov     ax, 0
        call    other_routine
        EXPECTW ax, 0x2222, 'b2 routine after immediate patch'
        mov     byte [other_routine], 0xBB      ; B8 (mov ax) -> BB (mov bx)
        mov     ax, 0
        mov     bx, 0
        call    other_routine
        EXPECTW ax, 0, 'b3 routine after opcode patch (ax)'
        EXPECTW bx, 0x2222, 'b3 routine after opcode patch (bx)'
        ; Write through another segment alias of the same bytes.
        mov     ax, 0x0A00              ; other_routine is at 0xA000 = 0A00:0000
        mov     es, ax
        mov     byte [es:0], 0xB8
        mov     word [es:1], 0x3333
        xor     ax, ax
        mov     es, ax
        call    other_routine
        EXPECTW ax, 0x3333, 'b4 routine patched through ES alias'

; ---- c1: REP MOVSB new code over a routine that already ran ------------------------------
        mov     ax, 0
        call    copy_target
        EXPECTW ax, 0x0001, 'c1 copy target before'
        mov     si, new_code
        mov     di, copy_target
        mov     cx, new_code_len
        rep movsb
        mov     ax, 0
        call    copy_target
        EXPECTW ax, 0xBEEF, 'c1 copy target after rep movsb'
        EXPECTW bx, 0x4321, 'c1 copy target after rep movsb (bx)'

; ---- c2: REP MOVSB over the instructions right after it ----------------------------------
        mov     ax, 0x5555
        mov     si, c2_src
        mov     di, c2_insn
        mov     cx, 3
        rep movsb
c2_insn:
        mov     ax, 0x0000              ; B8 00 00 -> B8 CD AB
        EXPECTW ax, 0xABCD, 'c2 rep movsb over the following insn'

; ---- d: fresh code in another segment, called far, replaced, called again ----------------
        mov     ax, 0x2000
        mov     es, ax
        mov     si, d_code1
        xor     di, di
        mov     cx, d_code_len
        rep movsb
        xor     ax, ax
        mov     es, ax
        call    0x2000:0x0000
        EXPECTW ax, 0xF00D, 'd1 fresh code at 2000:0000'
        mov     ax, 0x2000
        mov     es, ax
        mov     si, d_code2
        xor     di, di
        mov     cx, d_code_len
        rep movsb
        xor     ax, ax
        mov     es, ax
        call    0x2000:0x0000
        EXPECTW ax, 0xCAFE, 'd2 replaced code at 2000:0000'

; ---- e: an instruction straddling a page boundary -----------------------------------------
        xor     eax, eax
        call    straddle
        EXPECTD eax, 0x11223344, 'e1 straddling insn before patch'
        mov     byte [0x9000], 0x55     ; second page: 33 -> 55
        xor     eax, eax
        call    straddle
        EXPECTD eax, 0x11225544, 'e2 straddling insn patched on 2nd page'
        mov     byte [0x8FFF], 0x66     ; first page: 44 -> 66
        xor     eax, eax
        call    straddle
        EXPECTD eax, 0x11225566, 'e3 straddling insn patched on 1st page'

        FINISH

; ---- data (read only) -------------------------------------------------------------------------
new_code:
        mov     ax, 0xBEEF
        mov     bx, 0x4321
        ret
new_code_len equ $ - new_code

c2_src: mov     ax, 0xABCD

d_code1:
        mov     ax, 0xF00D
        retf
d_code_len equ $ - d_code1
d_code2:
        mov     ax, 0xCAFE
        retf

copy_target:
        mov     ax, 0x0001
        nop
        nop
        nop
        ret
%if ($ - copy_target) < new_code_len
%error "copy_target is shorter than new_code"
%endif

; ---- straddle: 66 B8 imm32 at 0x8FFD, so the immediate's bytes 1..3 are on page 0x9000 ---------
        times (0x8FFD - 0x7C00) - ($ - $$) db 0xCC
straddle:
        mov     eax, 0x11223344         ; 66 B8 | 44 at 0x8FFF | 33 22 11 at 0x9000
        ret

; ---- other_routine: alone on page 0xA000 -------------------------------------------------------
        times (0xA000 - 0x7C00) - ($ - $$) db 0xCC
other_routine:
        mov     ax, 0x1111
        ret
