; strings: MOVS, STOS, LODS, CMPS, SCAS, INS with and without REP prefixes
; (SDM Vol. 2, each instruction and "REP/REPE/REPZ/REPNE/REPNZ"):
; byte/word/dword sizes, final (E)CX/(E)SI/(E)DI, REPE/REPNE termination and
; flags, CX = 0, DF = 1, overlapping copies done element by element, a
; segment override applying to the source only (ES:DI is always the
; destination), and the 0x67 address size selecting SI/DI/CX or ESI/EDI/ECX.

%define TEST_NAME 'strings'
        org     0x7C00
%include "common.inc"
%include "calc.inc"

%define BUF 0x3000

; FILL addr, count, byte: plain byte stores (no string instructions).
%macro FILL 3
        push    bx
        push    cx
        mov     bx, %1
        mov     cx, %2
%%l:    mov     byte [bx], %3
        inc     bx
        dec     cx
        jnz     %%l
        pop     cx
        pop     bx
%endmacro

main:
        INIT

; ---- REP MOVSB / MOVSW / MOVSD --------------------------------------------------------------
        FILL    BUF, 0x40, 0xEE
        mov     si, src10
        mov     di, BUF
        mov     cx, 10
        rep movsb
        EXPECTW cx, 0, 'rep movsb cx'
        EXPECTW si, src10 + 10, 'rep movsb si'
        EXPECTW di, BUF + 10, 'rep movsb di'
        EXPECTD [BUF], 'ABCD', 'rep movsb data 0..3'
        EXPECTB [BUF + 9], 'J', 'rep movsb data 9'
        EXPECTB [BUF + 10], 0xEE, 'rep movsb wrote past the count'

        FILL    BUF, 0x40, 0xEE
        mov     si, src10
        mov     di, BUF
        mov     cx, 5
        rep movsw
        EXPECTW cx, 0, 'rep movsw cx'
        EXPECTW si, src10 + 10, 'rep movsw si'
        EXPECTW di, BUF + 10, 'rep movsw di'
        EXPECTD [BUF + 6], 'GHIJ', 'rep movsw data'
        EXPECTB [BUF + 10], 0xEE, 'rep movsw wrote past the count'

        FILL    BUF, 0x40, 0xEE
        mov     si, src10
        mov     di, BUF
        mov     cx, 2
        rep movsd                       ; 66 prefix: dwords, 16-bit addressing
        EXPECTW cx, 0, 'rep movsd cx'
        EXPECTW si, src10 + 8, 'rep movsd si'
        EXPECTW di, BUF + 8, 'rep movsd di'
        EXPECTD [BUF + 4], 'EFGH', 'rep movsd data'
        EXPECTB [BUF + 8], 0xEE, 'rep movsd wrote past the count'

        ; CX = 0: nothing moves.
        FILL    BUF, 0x40, 0xEE
        mov     si, src10
        mov     di, BUF
        xor     cx, cx
        rep movsb
        EXPECTW si, src10, 'rep movsb cx=0 si'
        EXPECTW di, BUF, 'rep movsb cx=0 di'
        EXPECTB [BUF], 0xEE, 'rep movsb cx=0 wrote'

        ; Destination in another segment: ES = 0x0300 -> linear 0x3000 + DI.
        FILL    BUF, 0x40, 0xEE
        mov     ax, 0x0300
        mov     es, ax
        mov     si, src10
        mov     di, 0x10
        movsb
        xor     ax, ax
        mov     es, ax
        EXPECTB [BUF + 0x10], 'A', 'movsb to ES=0300'

; ---- overlapping copies, element by element ---------------------------------------------------
        ; Forward, destination one byte ahead: the first byte propagates.
        FILL    BUF, 0x40, 0xEE
        mov     dword [BUF], '1234'
        mov     byte [BUF + 4], '5'
        mov     si, BUF
        mov     di, BUF + 1
        mov     cx, 5
        rep movsb
        EXPECTD [BUF], '1111', 'overlap fwd 0..3'
        EXPECTW [BUF + 4], '11', 'overlap fwd 4..5'
        EXPECTB [BUF + 6], 0xEE, 'overlap fwd 6'
        ; Backward (DF = 1), destination two bytes ahead: a memmove.
        FILL    BUF, 0x40, 0xEE
        mov     dword [BUF], '1234'
        mov     byte [BUF + 4], '5'
        std
        mov     si, BUF + 4
        mov     di, BUF + 6
        mov     cx, 5
        rep movsb
        cld
        EXPECTD [BUF], '1212', 'overlap bwd 0..3'
        EXPECTD [BUF + 3], '2345', 'overlap bwd 3..6'
        EXPECTW si, BUF - 1, 'overlap bwd si'
        EXPECTW di, BUF + 1, 'overlap bwd di'

; ---- DF = 1 with words and dwords ---------------------------------------------------------------
        mov     si, src10 + 8
        std
        lodsw
        cld
        EXPECTW ax, 'IJ', 'std lodsw value'
        EXPECTW si, src10 + 6, 'std lodsw si'
        FILL    BUF, 0x40, 0xEE
        mov     di, BUF + 8
        mov     eax, 0x44332211
        mov     cx, 2
        std
        rep stosd
        cld
        EXPECTW di, BUF, 'std rep stosd di'
        EXPECTD [BUF + 4], 0x44332211, 'std rep stosd data 4'
        EXPECTD [BUF + 8], 0x44332211, 'std rep stosd data 8'
        EXPECTB [BUF + 3], 0xEE, 'std rep stosd data 3'

; ---- STOS / LODS ------------------------------------------------------------------------------
        FILL    BUF, 0x40, 0xEE
        mov     di, BUF
        mov     al, 0x5A
        mov     cx, 7
        rep stosb
        EXPECTW di, BUF + 7, 'rep stosb di'
        EXPECTD [BUF + 3], 0x5A5A5A5A, 'rep stosb data'
        EXPECTB [BUF + 7], 0xEE, 'rep stosb wrote past the count'
        mov     ax, 0xBEEF
        mov     cx, 3
        rep stosw
        EXPECTW di, BUF + 13, 'rep stosw di'
        EXPECTW [BUF + 11], 0xBEEF, 'rep stosw data'
        mov     si, src10
        lodsb
        EXPECTB al, 'A', 'lodsb'
        lodsd
        EXPECTD eax, 'BCDE', 'lodsd'
        EXPECTW si, src10 + 5, 'lodsd si'
        mov     si, src10
        mov     cx, 3
        rep lodsb
        EXPECTB al, 'C', 'rep lodsb value'
        EXPECTW si, src10 + 3, 'rep lodsb si'
        EXPECTW cx, 0, 'rep lodsb cx'

; ---- REPE CMPSB / REPNE SCASB -----------------------------------------------------------------
        ; Mismatch at index 3 ('D' vs 'X'): stops after comparing it.
        mov     si, str1
        mov     di, str2
        mov     cx, 6
        repe cmpsb
        CALC_SUB 8, 'D', 'X', 0
        EXPECTFLAGS F_ARITH, CALC_F, 'repe cmpsb mismatch flags'
        EXPECTW cx, 2, 'repe cmpsb mismatch cx'
        EXPECTW si, str1 + 4, 'repe cmpsb mismatch si'
        EXPECTW di, str2 + 4, 'repe cmpsb mismatch di'
        ; All equal: runs out the count with ZF = 1.
        mov     si, str1
        mov     di, str1b
        mov     cx, 6
        repe cmpsb
        EXPECTFLAGS F_ZF, F_ZF, 'repe cmpsb equal ZF'
        EXPECTW cx, 0, 'repe cmpsb equal cx'
        EXPECTW si, str1 + 6, 'repe cmpsb equal si'
        ; REPNE CMPSB stops at the first equal pair: index 0.
        mov     si, str1
        mov     di, str2
        mov     cx, 6
        repne cmpsb
        EXPECTW cx, 5, 'repne cmpsb cx'
        EXPECTFLAGS F_ZF, F_ZF, 'repne cmpsb ZF'
        ; REPNE SCASB finds 'X' at index 3.
        mov     di, str2
        mov     al, 'X'
        mov     cx, 6
        repne scasb
        EXPECTFLAGS F_ZF, F_ZF, 'repne scasb found ZF'
        EXPECTW cx, 2, 'repne scasb found cx'
        EXPECTW di, str2 + 4, 'repne scasb found di'
        ; Not found: CX = 0, ZF = 0, flags of the last comparison ('F' - 'Q').
        mov     di, str2
        mov     al, 'Q'
        mov     cx, 6
        repne scasb
        CALC_SUB 8, 'Q', 'F', 0
        EXPECTFLAGS F_ARITH, CALC_F, 'repne scasb not found flags'
        EXPECTW cx, 0, 'repne scasb not found cx'
        EXPECTW di, str2 + 6, 'repne scasb not found di'
        ; REPE SCASW: skip equal words.
        mov     di, words
        mov     ax, 0x1111
        mov     cx, 4
        repe scasw
        EXPECTW cx, 1, 'repe scasw cx'
        EXPECTW di, words + 6, 'repe scasw di'
        ; CX = 0: no comparison, flags unchanged.
        mov     di, str2
        mov     al, 'A'
        xor     cx, cx
        cmp     cx, 1                   ; CF = 1, ZF = 0: a comparison of 'A' would set ZF, clear CF
        repne scasb
        EXPECTFLAGS F_CF | F_ZF, F_CF, 'repne scasb cx=0 changed flags'
        EXPECTW di, str2, 'repne scasb cx=0 di'

; ---- segment overrides: the source only -----------------------------------------------------------
        ; DS points elsewhere; CS: and SS: overrides read from segment 0.
        FILL    BUF, 0x40, 0xEE
        mov     ax, 0x0100
        mov     ds, ax
        mov     si, src10
        mov     di, BUF
        mov     cx, 4
        cs rep movsb
        mov     si, src10 + 4
        ss movsb
        mov     si, src10 + 5
        es movsb
        xor     ax, ax
        mov     ds, ax
        EXPECTD [BUF], 'ABCD', 'cs: rep movsb source'
        EXPECTW [BUF + 4], 'EF', 'ss:/es: movsb source'
        ; LODSB with ES:, CMPSB with CS:.
        mov     ax, 0x0100
        mov     ds, ax
        mov     si, src10 + 2
        es lodsb
        mov     si, str1
        mov     di, str1b
        mov     cx, 6
        cs repe cmpsb
        mov     bx, cx
        xor     cx, cx
        mov     ds, cx
        EXPECTB al, 'C', 'es: lodsb'
        EXPECTW bx, 0, 'cs: repe cmpsb'
        ; STOSB with an FS: prefix still writes ES:DI (FS = 0x0200, ES = 0).
        FILL    BUF, 0x40, 0xEE
        FILL    BUF + 0x2000, 0x40, 0xEE
        mov     ax, 0x0200
        mov     fs, ax
        mov     di, BUF
        mov     al, 0x77
        db      0x64                    ; fs:
        stosb
        xor     ax, ax
        mov     fs, ax
        EXPECTB [BUF], 0x77, 'fs: stosb did not write ES:DI'
        EXPECTB [BUF + 0x2000], 0xEE, 'fs: stosb wrote FS:DI'
        ; SCASB with a DS: prefix still reads ES:DI (DS = 0x0100, ES = 0).
        mov     ax, 0x0100
        mov     ds, ax
        mov     di, str2 + 3
        mov     al, 'X'
        db      0x3E                    ; ds:
        scasb
        mov     bx, 0
        mov     ds, bx
        EXPECTFLAGS F_ZF, F_ZF, 'ds: scasb did not read ES:DI'
        ; MOVSB: the override changes the source segment, never the destination.
        FILL    BUF, 0x40, 0xEE
        mov     ax, 0x0100
        mov     es, ax                  ; ES -> linear 0x1000 + DI
        xor     ax, ax
        mov     ds, ax
        mov     si, src10
        mov     di, BUF - 0x1000 + 0x20
        cs movsb
        xor     ax, ax
        mov     es, ax
        EXPECTB [BUF + 0x20], 'A', 'cs: movsb destination is ES:DI'

; ---- 0x67: ESI/EDI/ECX versus SI/DI/CX ----------------------------------------------------------
        ; 16-bit address size: only SI, DI and CX change; their upper halves stay.
        FILL    BUF, 0x40, 0xEE
        mov     esi, 0xABCD0000 | ABS(src10)
        mov     edi, 0x56780000 | BUF
        mov     ecx, 0x12340003
        a16 rep movsb
        EXPECTD esi, 0xABCD0000 | ABS(src10 + 3), 'a16 rep movsb esi'
        EXPECTD edi, 0x56780000 | (BUF + 3), 'a16 rep movsb edi'
        EXPECTD ecx, 0x12340000, 'a16 rep movsb ecx'
        EXPECTW [BUF + 1], 'BC', 'a16 rep movsb data'
        ; 32-bit address size: ESI, EDI, ECX.
        FILL    BUF, 0x40, 0xEE
        mov     esi, src10
        mov     edi, BUF
        mov     ecx, 3
        a32 rep movsb
        EXPECTD esi, src10 + 3, 'a32 rep movsb esi'
        EXPECTD edi, BUF + 3, 'a32 rep movsb edi'
        EXPECTD ecx, 0, 'a32 rep movsb ecx'
        EXPECTW [BUF + 1], 'BC', 'a32 rep movsb data'
        ; SI wraps at 64 KiB with a 16-bit address size; the upper half stays.
        mov     byte [0xFFFF], 0x3C
        mov     esi, 0x5555FFFF
        a16 lodsb
        EXPECTB al, 0x3C, 'a16 lodsb at FFFF'
        EXPECTD esi, 0x55550000, 'a16 lodsb si wrap'
        ; With a 32-bit address size ESI just counts on (0xFFFF -> 0x10000).
        mov     esi, 0x0000FFFF
        a32 lodsb
        EXPECTD esi, 0x00010000, 'a32 lodsb esi'
        ; A32 REPNE SCASB with ECX.
        mov     edi, str2
        mov     al, 'E'
        mov     ecx, 6
        a32 repne scasb
        EXPECTD ecx, 1, 'a32 repne scasb ecx'
        EXPECTD edi, str2 + 5, 'a32 repne scasb edi'

; ---- INS: the debug console port reads as 0xE9 ---------------------------------------------------
        FILL    BUF, 0x40, 0xEE
        mov     dx, 0xE9
        mov     di, BUF
        mov     cx, 3
        rep insb
        EXPECTW di, BUF + 3, 'rep insb di'
        EXPECTW [BUF + 1], 0xE9E9, 'rep insb data'
        EXPECTB [BUF + 3], 0xEE, 'rep insb wrote past the count'

        FINISH

src10:  db      'ABCDEFGHIJ'
str1:   db      'ABCDEF'
str1b:  db      'ABCDEF'
str2:   db      'ABCXEF'
words:  dw      0x1111, 0x1111, 0x2222, 0x1111
