; bcd_misc: BCD adjustments and the odds and ends of the 8086..386 integer set.
;
; DAA/DAS/AAA/AAS follow the SDM Vol. 2 pseudo-code (worked values in the
; comments; only the flags the manual defines are compared: DAA/DAS SF ZF PF
; AF CF, AAA/AAS AF CF, AAM/AAD SF ZF PF); AAM with 0 raises #DE at the AAM.
; Then XLAT, LAHF/SAHF, CBW/CWD/CWDE/CDQ, ENTER (levels 0, 2, 3)/LEAVE,
; PUSHA/POPA and PUSHAD/POPAD, LES/LDS/LSS/LFS/LGS (16- and 32-bit offsets),
; far CALL (direct, to another CS, indirect), RETF, RETF imm, RET imm, far JMP
; (direct, indirect), LOOP/LOOPE/LOOPNE (CX = 0 runs 65536 times), JCXZ/JECXZ
; and LOOP with a 32-bit address size.

%define TEST_NAME 'bcd_misc'
        org     0x7C00
%include "common.inc"

absolute 0x0600
exc_count:      resw 1
exc_ip:         resw 1
resume_ip:      resw 1
saved_sp:       resw 1
far_ip:         resw 1
far_cs:         resw 1
far_cs_inside:  resw 1
tmp:            resd 4
section .text

main:
        INIT
        SET_VECTOR 0, catch_de

; ==== DAA / DAS ===============================================================================
        ; 79 + 35 = AE -> DAA -> 14, CF = AF = 1 (decimal 79 + 35 = 114).
        mov     al, 0x79
        add     al, 0x35
        daa
        EXPECTFLAGS F_SF | F_ZF | F_PF | F_AF | F_CF, F_CF | F_AF | F_PF, 'daa 79+35 flags'
        EXPECTB al, 0x14, 'daa 79+35'
        ; 15 + 27 = 3C -> 42, AF = 1, CF = 0.
        mov     al, 0x15
        add     al, 0x27
        daa
        EXPECTFLAGS F_SF | F_ZF | F_PF | F_AF | F_CF, F_AF | F_PF, 'daa 15+27 flags'
        EXPECTB al, 0x42, 'daa 15+27'
        ; 99 + 01 = 9A -> 00, CF = AF = ZF = PF = 1.
        mov     al, 0x99
        add     al, 0x01
        daa
        EXPECTFLAGS F_SF | F_ZF | F_PF | F_AF | F_CF, F_CF | F_AF | F_ZF | F_PF, 'daa 99+01 flags'
        EXPECTB al, 0x00, 'daa 99+01'
        ; 08 + 09 = 11 with AF -> 17.
        mov     al, 0x08
        add     al, 0x09
        daa
        EXPECTFLAGS F_AF | F_CF, F_AF, 'daa 08+09 flags'
        EXPECTB al, 0x17, 'daa 08+09'
        ; 42 - 15 = 2D (AF) -> DAS -> 27.
        mov     al, 0x42
        sub     al, 0x15
        das
        EXPECTFLAGS F_SF | F_ZF | F_PF | F_AF | F_CF, F_AF | F_PF, 'das 42-15 flags'
        EXPECTB al, 0x27, 'das 42-15'
        ; 15 - 42 = D3 (CF) -> 73, CF = 1 (a borrow: 115 - 42 = 73).
        mov     al, 0x15
        sub     al, 0x42
        das
        EXPECTFLAGS F_SF | F_ZF | F_PF | F_AF | F_CF, F_CF, 'das 15-42 flags'
        EXPECTB al, 0x73, 'das 15-42'

; ==== AAA / AAS ================================================================================
        ; AX = 0009, ADD AL, 8 -> 11 with AF -> AX + 106h = 0117 -> AL & 0F -> 0107.
        mov     ax, 0x0009
        add     al, 8
        aaa
        EXPECTFLAGS F_AF | F_CF, F_AF | F_CF, 'aaa 9+8 flags'
        EXPECTW ax, 0x0107, 'aaa 9+8'
        ; AX = 0005, ADD AL, 3 -> 08, no adjustment.
        mov     ax, 0x0005
        add     al, 3
        aaa
        EXPECTFLAGS F_AF | F_CF, 0, 'aaa 5+3 flags'
        EXPECTW ax, 0x0008, 'aaa 5+3'
        ; AL = FA: AX + 106h carries into AH twice (00FA -> 0200), per the SDM's AX form.
        mov     ax, 0x00FA
        add     al, 0
        aaa
        EXPECTFLAGS F_AF | F_CF, F_AF | F_CF, 'aaa AL=FA flags'
        EXPECTW ax, 0x0200, 'aaa AL=FA (AX + 106h)'
        ; AX = 0203, SUB AL, 5 -> FE (AF) -> AX - 6 = 02F8, AH - 1 -> 01F8 -> 0108.
        mov     ax, 0x0203
        sub     al, 5
        aas
        EXPECTFLAGS F_AF | F_CF, F_AF | F_CF, 'aas 23-5 flags'
        EXPECTW ax, 0x0108, 'aas 23-5'
        ; AX = 0208, SUB AL, 3 -> 05, no adjustment.
        mov     ax, 0x0208
        sub     al, 3
        aas
        EXPECTFLAGS F_AF | F_CF, 0, 'aas 28-3 flags'
        EXPECTW ax, 0x0205, 'aas 28-3'

; ==== AAM / AAD ===================================================================================
        ; AAM: AH = AL / base, AL = AL mod base. 79 = 7*10 + 9; PF of 09 (two bits) = 1.
        mov     ax, 0xFF4F
        aam
        EXPECTFLAGS F_SF | F_ZF | F_PF, F_PF, 'aam 79 flags'
        EXPECTW ax, 0x0709, 'aam 79'
        mov     ax, 0x004F
        aam     16
        EXPECTW ax, 0x040F, 'aam 16 of 4F'
        mov     ax, 0x0050
        aam
        EXPECTFLAGS F_SF | F_ZF | F_PF, F_ZF | F_PF, 'aam 80 flags (AL = 0)'
        EXPECTW ax, 0x0800, 'aam 80'
        ; AAD: AL = AL + AH*base, AH = 0. 0709 -> 4F (five bits set: PF = 0).
        mov     ax, 0x0709
        aad
        EXPECTFLAGS F_SF | F_ZF | F_PF, 0, 'aad 0709 flags'
        EXPECTW ax, 0x004F, 'aad 0709'
        mov     ax, 0x0408
        aad     16
        EXPECTW ax, 0x0048, 'aad 16 of 0408'
        ; 0F0F -> (0F + 0F*10) & FF = A5, SF = 1, PF (four bits) = 1.
        mov     ax, 0x0F0F
        aad
        EXPECTFLAGS F_SF | F_ZF | F_PF, F_SF | F_PF, 'aad 0F0F flags'
        EXPECTW ax, 0x00A5, 'aad 0F0F'
        ; AAM 0: #DE, pushed IP at the AAM, AX unchanged.
        mov     word [exc_count], 0
        mov     word [resume_ip], aam0_r
        mov     ax, 0x1234
aam0_f: aam     0
        FAILNOW 'aam 0 did not raise #DE'
aam0_r: EXPECTW [exc_count], 1, 'aam 0: #DE count'
        EXPECTW [exc_ip], aam0_f, 'aam 0: pushed IP'
        EXPECTW ax, 0x1234, 'aam 0: ax changed'

; ==== XLAT ========================================================================================
        mov     bx, xlat_table
        mov     al, 3
        xlatb
        EXPECTB al, 0x33, 'xlat'
        mov     al, 0xFF                ; AL is unsigned: 255
        mov     bx, xlat_table - 0xFF + 5
        xlatb
        EXPECTB al, 0x55, 'xlat al=FF'
        ; With ES: (DS points elsewhere).
        mov     ax, 0x0100
        mov     ds, ax
        mov     bx, xlat_table
        mov     al, 1
        es xlatb
        xor     cx, cx
        mov     ds, cx
        EXPECTB al, 0x11, 'es: xlat'

; ==== LAHF / SAHF ===================================================================================
        mov     ah, 0xD5                ; SF ZF AF PF CF
        sahf
        EXPECTFLAGS F_ARITH & ~F_OF, F_SF | F_ZF | F_AF | F_PF | F_CF, 'sahf D5'
        mov     ah, 0
        lahf
        EXPECTB ah, 0xD7, 'lahf after sahf D5 (bit 1 reads 1)'
        mov     ah, 0xFF
        sahf
        lahf
        EXPECTB ah, 0xD7, 'lahf after sahf FF (bits 3, 5 read 0)'
        ; SAHF leaves OF alone.
        mov     al, 0x7F
        add     al, 1                   ; OF = 1
        mov     ah, 0
        sahf
        EXPECTFLAGS F_ARITH, F_OF, 'sahf 00 keeps OF'
        lahf
        EXPECTB ah, 0x02, 'lahf after sahf 00'

; ==== CBW / CWD / CWDE / CDQ ===========================================================================
        mov     eax, 0x12345680
        cbw
        EXPECTD eax, 0x1234FF80, 'cbw negative'
        mov     ax, 0x007F
        cbw
        EXPECTW ax, 0x007F, 'cbw positive'
        mov     ax, 0x8000
        mov     dx, 0x1234
        cwd
        EXPECTW dx, 0xFFFF, 'cwd negative'
        mov     ax, 0x7FFF
        cwd
        EXPECTW dx, 0x0000, 'cwd positive'
        mov     eax, 0xABCD8000
        cwde
        EXPECTD eax, 0xFFFF8000, 'cwde'
        mov     eax, 0x80000000
        cdq
        EXPECTD edx, 0xFFFFFFFF, 'cdq negative'
        mov     eax, 0x7FFFFFFF
        cdq
        EXPECTD edx, 0, 'cdq positive'

; ==== ENTER / LEAVE ====================================================================================
        ; Frames below the stack in use: SP = 0x6800 for these tests; fake outer frame at BP = 0x6000.
        mov     [saved_sp], sp
        mov     word [0x5FFE], 0x1111   ; the outer frame's display: [BP-2], [BP-4]
        mov     word [0x5FFC], 0x2222
        ; ENTER 8, 0
        mov     sp, 0x6800
        mov     bp, 0x6000
        enter   8, 0
        mov     ax, bp
        mov     bx, sp
        leave
        mov     cx, bp
        mov     dx, sp
        mov     sp, [saved_sp]
        EXPECTW ax, 0x6800 - 2, 'enter 8,0: bp'
        EXPECTW bx, 0x6800 - 10, 'enter 8,0: sp'
        EXPECTW [0x6800 - 2], 0x6000, 'enter 8,0: saved bp'
        EXPECTW cx, 0x6000, 'leave: bp'
        EXPECTW dx, 0x6800, 'leave: sp'
        ; ENTER 4, 2: push BP; copy one display entry ([BP-2]); push the frame pointer.
        mov     sp, 0x6800
        mov     bp, 0x6000
        enter   4, 2
        mov     ax, bp
        mov     bx, sp
        mov     sp, [saved_sp]
        EXPECTW ax, 0x6800 - 2, 'enter 4,2: bp'
        EXPECTW bx, 0x6800 - 10, 'enter 4,2: sp'
        EXPECTW [0x6800 - 2], 0x6000, 'enter 4,2: [S-2] old bp'
        EXPECTW [0x6800 - 4], 0x1111, 'enter 4,2: [S-4] display entry'
        EXPECTW [0x6800 - 6], 0x6800 - 2, 'enter 4,2: [S-6] frame pointer'
        ; ENTER 0, 3: two display entries.
        mov     sp, 0x6800
        mov     bp, 0x6000
        enter   0, 3
        mov     ax, bp
        mov     bx, sp
        mov     sp, [saved_sp]
        EXPECTW ax, 0x6800 - 2, 'enter 0,3: bp'
        EXPECTW bx, 0x6800 - 8, 'enter 0,3: sp'
        EXPECTW [0x6800 - 4], 0x1111, 'enter 0,3: [S-4] display entry 1'
        EXPECTW [0x6800 - 6], 0x2222, 'enter 0,3: [S-6] display entry 2'
        EXPECTW [0x6800 - 8], 0x6800 - 2, 'enter 0,3: [S-8] frame pointer'

; ==== PUSHA / POPA / PUSHAD / POPAD =======================================================================
        mov     [saved_sp], sp
        mov     sp, 0x6800
        mov     ax, 1
        mov     cx, 2
        mov     dx, 3
        mov     bx, 4
        mov     bp, 6
        mov     si, 7
        mov     di, 8
        pusha
        mov     word [0x6800 - 10], 0xDEAD      ; the SP slot: POPA ignores it
        xor     ax, ax
        xor     cx, cx
        xor     dx, dx
        xor     bx, bx
        xor     bp, bp
        xor     si, si
        xor     di, di
        popa
        mov     [tmp], sp
        mov     sp, [saved_sp]
        EXPECTW [0x6800 - 2], 1, 'pusha: ax slot'
        EXPECTW [0x6800 - 8], 4, 'pusha: bx slot'
        EXPECTW [0x6800 - 16], 8, 'pusha: di slot'
        EXPECTW [tmp], 0x6800, 'popa: sp'
        EXPECTW ax, 1, 'popa: ax'
        EXPECTW cx, 2, 'popa: cx'
        EXPECTW dx, 3, 'popa: dx'
        EXPECTW bx, 4, 'popa: bx'
        EXPECTW bp, 6, 'popa: bp'
        EXPECTW si, 7, 'popa: si'
        EXPECTW di, 8, 'popa: di'
        ; PUSHA stores the SP from before the instruction.
        mov     sp, 0x6800
        pusha
        mov     sp, [saved_sp]
        EXPECTW [0x6800 - 10], 0x6800, 'pusha: sp slot'
        ; PUSHAD / POPAD.
        mov     sp, 0x6800
        mov     eax, 0x11111111
        mov     ecx, 0x22222222
        mov     edi, 0x88888888
        pushad
        mov     ebx, [0x6800 - 32]      ; EDI slot
        mov     [tmp + 4], ebx
        xor     eax, eax
        xor     ecx, ecx
        xor     edi, edi
        popad
        mov     [tmp], sp
        mov     sp, [saved_sp]
        EXPECTD [tmp + 4], 0x88888888, 'pushad: edi slot'
        EXPECTD [0x6800 - 20], 0x6800, 'pushad: esp slot'
        EXPECTD eax, 0x11111111, 'popad: eax'
        EXPECTD ecx, 0x22222222, 'popad: ecx'
        EXPECTD edi, 0x88888888, 'popad: edi'
        EXPECTW [tmp], 0x6800, 'popad: sp'

; ==== LES / LDS / LSS / LFS / LGS =========================================================================
        les     di, [fp16]
        mov     ax, es
        xor     bx, bx
        mov     es, bx
        EXPECTW di, 0x1234, 'les offset'
        EXPECTW ax, 0x5678, 'les segment'
        lds     si, [fp16]
        mov     ax, ds
        xor     bx, bx
        mov     ds, bx
        EXPECTW si, 0x1234, 'lds offset'
        EXPECTW ax, 0x5678, 'lds segment'
        lfs     cx, [fp16]
        mov     ax, fs
        xor     bx, bx
        mov     fs, bx
        EXPECTW cx, 0x1234, 'lfs offset'
        EXPECTW ax, 0x5678, 'lfs segment'
        lgs     dx, [fp16]
        mov     ax, gs
        xor     bx, bx
        mov     gs, bx
        EXPECTW dx, 0x1234, 'lgs offset'
        EXPECTW ax, 0x5678, 'lgs segment'
        ; LSS: a new stack at 0050:6000 = linear 0x6500; a push lands there.
        mov     [saved_sp], sp
        lss     sp, [fp_stack]
        push    word 0x4242
        mov     ax, ss
        mov     bx, sp
        lss     sp, [fp_stack_back]
        EXPECTW ax, 0x0050, 'lss segment'
        EXPECTW bx, 0x6000 - 2, 'lss offset'
        EXPECTW [0x6500 - 2], 0x4242, 'lss: push went to the new stack'
        mov     ax, sp
        EXPECTW ax, 0x7C00, 'lss back'
        ; 32-bit offset: o32 LDS ESI, m16:32.
        lds     esi, [fp32]
        mov     ax, ds
        xor     bx, bx
        mov     ds, bx
        EXPECTD esi, 0x89ABCDEF, 'o32 lds offset'
        EXPECTW ax, 0x0123, 'o32 lds segment'

; ==== far transfers ===========================================================================================
        ; CALL ptr16:16 -> RETF; the callee sees the return CS:IP on the stack.
        call    0x0000:far_a
far_a_ret:
        EXPECTW [far_ip], far_a_ret, 'call far: pushed IP'
        EXPECTW [far_cs], 0, 'call far: pushed CS'
        ; Into another CS for the same bytes: 07C0:(far_b - 7C00).
        call    0x07C0:(far_b - 0x7C00)
far_b_ret:
        EXPECTW [far_cs_inside], 0x07C0, 'call far 07C0: CS inside'
        EXPECTW [far_ip], far_b_ret, 'call far 07C0: pushed IP'
        mov     ax, cs
        EXPECTW ax, 0, 'retf: CS back to 0'
        ; CALL m16:16.
        mov     word [far_ip], 0
        call    far [fp_far_a]
far_a_ret2:
        EXPECTW [far_ip], far_a_ret2, 'call far [mem]: pushed IP'
        ; RETF 4 drops two words of arguments.
        mov     [saved_sp], sp
        push    word 0xAAAA
        push    word 0xBBBB
        call    0x0000:far_c
        mov     ax, sp
        EXPECTW ax, [saved_sp], 'retf 4: sp'
        EXPECTW [tmp], 0xBBBB, 'retf 4: first argument'
        ; RET 2.
        push    word 0xCCCC
        call    near_d
        mov     ax, sp
        EXPECTW ax, [saved_sp], 'ret 2: sp'
        EXPECTW [tmp], 0xCCCC, 'ret 2: argument'
        ; JMP ptr16:16 and JMP m16:16.
        jmp     0x0000:jmp_a
        FAILNOW 'jmp far ptr16:16 fell through'
jmp_a:  jmp     far [fp_jmp_b]
        FAILNOW 'jmp far [mem] fell through'
jmp_b:

; ==== LOOP family, JCXZ, JECXZ =================================================================================
        mov     cx, 5
        xor     ax, ax
.l1:    inc     ax
        loop    .l1
        EXPECTW ax, 5, 'loop 5 iterations'
        EXPECTW cx, 0, 'loop cx'
        ; CX = 0 means 65536 iterations.
        xor     cx, cx
        xor     eax, eax
.l2:    inc     eax
        loop    .l2
        EXPECTD eax, 0x10000, 'loop with cx=0 runs 65536 times'
        ; LOOPE: while equal to 1: stops at the 4th element (2).
        mov     si, loop_data_e
        mov     cx, 5
.l3:    lodsb
        cmp     al, 1
        loope   .l3
        EXPECTW cx, 1, 'loope cx'
        EXPECTW si, loop_data_e + 4, 'loope si'
        ; LOOPNE: until equal to 5: stops at the 3rd element.
        mov     si, loop_data_ne
        mov     cx, 5
.l4:    lodsb
        cmp     al, 5
        loopne  .l4
        EXPECTW cx, 2, 'loopne cx'
        ; LOOPE with the count running out first.
        mov     si, loop_data_e
        mov     cx, 2
.l5:    lodsb
        cmp     al, 1
        loope   .l5
        EXPECTW cx, 0, 'loope count out cx'
        EXPECTFLAGS F_ZF, F_ZF, 'loope count out ZF'
        ; JCXZ / JECXZ.
        xor     cx, cx
        jcxz    .j1
        FAILNOW 'jcxz cx=0 not taken'
.j1:    mov     cx, 1
        jcxz    .j1bad
        jmp     .j2
.j1bad: FAILNOW 'jcxz cx=1 taken'
.j2:    mov     ecx, 0x00010000         ; CX = 0, ECX != 0
        jcxz    .j3
        FAILNOW 'jcxz ecx=10000 not taken'
.j3:    jecxz   .j3bad
        jmp     .j4
.j3bad: FAILNOW 'jecxz ecx=10000 taken'
.j4:    xor     ecx, ecx
        jecxz   .j5
        FAILNOW 'jecxz ecx=0 not taken'
.j5:
        ; LOOP with a 16-bit address size uses CX; with 32 bits, ECX.
        mov     ecx, 0x00010001
        loop    .j6bad, cx              ; CX 1 -> 0: not taken
        jmp     .j6
.j6bad: FAILNOW 'loop cx: taken with cx=1'
.j6:    EXPECTD ecx, 0x00010000, 'loop cx: ecx'
        mov     ecx, 0x00010001
        loop    .j7, ecx                ; ECX -> 0x10000: taken
        FAILNOW 'loop ecx: not taken with ecx=10001'
.j7:    EXPECTD ecx, 0x00010000, 'loop ecx: ecx'

        FINISH

; ---- routines and data ---------------------------------------------------------------------------

far_a:  push    bp
        mov     bp, sp
        mov     ax, [bp + 2]
        mov     [far_ip], ax
        mov     ax, [bp + 4]
        mov     [far_cs], ax
        pop     bp
        retf

far_b:  mov     ax, cs                  ; runs with CS = 07C0 (uses no CS-relative data)
        mov     [far_cs_inside], ax
        push    bp
        mov     bp, sp
        mov     ax, [bp + 2]
        mov     [far_ip], ax
        pop     bp
        retf

far_c:  push    bp
        mov     bp, sp
        mov     ax, [bp + 6]            ; BP, IP, CS, then the last pushed argument
        mov     [tmp], ax
        pop     bp
        retf    4

near_d: push    bp
        mov     bp, sp
        mov     ax, [bp + 4]
        mov     [tmp], ax
        pop     bp
        ret     2

catch_de:
        push    bp
        mov     bp, sp
        push    ax
        push    ds
        xor     ax, ax
        mov     ds, ax
        mov     ax, [bp + 2]
        mov     [exc_ip], ax
        inc     word [exc_count]
        mov     ax, [resume_ip]
        mov     [bp + 2], ax
        pop     ds
        pop     ax
        pop     bp
        iret

xlat_table:     db 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77
fp16:           dw 0x1234, 0x5678
fp32:           dd 0x89ABCDEF
                dw 0x0123
fp_stack:       dw 0x6000, 0x0050
fp_stack_back:  dw 0x7C00, 0x0000
fp_far_a:       dw far_a, 0
fp_jmp_b:       dw jmp_b, 0
loop_data_e:    db 1, 1, 1, 2, 1
loop_data_ne:   db 3, 4, 5, 7, 8
