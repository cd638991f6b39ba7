; prefixes32: 32-bit operands (0x66) and 32-bit addressing (0x67) in real mode,
; on the general-purpose integer instructions of the 386..Pentium Pro.
;
; ALU expectations come from calc.inc (the manual's flag definitions evaluated
; by the assembler); the others are worked out by hand in the comments (SDM
; Vol. 2 "Operation" sections). Only flags the manual defines are compared.

%define TEST_NAME 'prefixes32'
        org     0x7C00
%include "common.inc"
%include "calc.inc"

absolute 0x0600
m32:    resd 1
m32b:   resd 1
m64:    resq 1
m8:     resb 4
        resd 1                  ; bitbuf - 4
bitbuf: resd 4
sp_in_callee: resw 1
section .text

; ALU op label, op, a, b, carry_in: "op eax, ebx" (or ax/bx, al/bl) against calc.inc.
; The registers' upper bits are filled with a pattern that 8/16-bit forms must keep.
%macro ALU 6            ; bits, label, op, a, b, carry_in
%ifidni %3, add
        CALC_ADD %1, %4, %5, 0
%elifidni %3, adc
        CALC_ADD %1, %4, %5, %6
%elifidni %3, sub
        CALC_SUB %1, %4, %5, 0
%elifidni %3, cmp
        CALC_SUB %1, %4, %5, 0
%elifidni %3, sbb
        CALC_SUB %1, %4, %5, %6
%elifidni %3, and
        CALC_LOGIC %1, (%4) & (%5)
%elifidni %3, or
        CALC_LOGIC %1, (%4) | (%5)
%elifidni %3, xor
        CALC_LOGIC %1, (%4) ^ (%5)
%elifidni %3, test
        CALC_LOGIC %1, (%4) & (%5)
%else
%error "ALU: unknown op"
%endif
%assign %%mask F_ARITH
%ifidni %3, and
%assign %%mask F_ARITH & ~F_AF
%elifidni %3, or
%assign %%mask F_ARITH & ~F_AF
%elifidni %3, xor
%assign %%mask F_ARITH & ~F_AF
%elifidni %3, test
%assign %%mask F_ARITH & ~F_AF
%endif
%if %1 == 32
        mov     eax, %4
        mov     ebx, %5
%elif %1 == 16
        mov     eax, 0xA5A50000 | ((%4) & 0xFFFF)
        mov     ebx, 0x5A5A0000 | ((%5) & 0xFFFF)
%else
        mov     eax, 0xA5A5A500 | ((%4) & 0xFF)
        mov     ebx, 0x5A5A5A00 | ((%5) & 0xFF)
%endif
%if %6
        stc
%else
        clc
%endif
%if %1 == 32
        %3      eax, ebx
%elif %1 == 16
        %3      ax, bx
%else
        %3      al, bl
%endif
        EXPECTFLAGS %%mask, CALC_F, {%2, ' flags'}
%ifidni %3, cmp
%assign %%r (%4)
%elifidni %3, test
%assign %%r (%4)
%else
%assign %%r CALC_R
%endif
%if %1 == 32
        EXPECTD eax, %%r, {%2, ' result'}
%elif %1 == 16
        EXPECTD eax, 0xA5A50000 | (%%r & 0xFFFF), {%2, ' result'}
%else
        EXPECTD eax, 0xA5A5A500 | (%%r & 0xFF), {%2, ' result'}
%endif
%endmacro

main:
        INIT

; ==== ALU, 32-bit ===========================================================================
        ALU 32, 'add1', add, 0x7FFFFFFF, 1, 0            ; signed overflow
        ALU 32, 'add2', add, 0xFFFFFFFF, 1, 0            ; carry, zero
        ALU 32, 'add3', add, 0x12345678, 0x0FEDCBA8, 0
        ALU 32, 'add4', add, 0x80000000, 0x80000000, 0   ; carry + overflow, zero
        ALU 32, 'adc1', adc, 0xFFFFFFFF, 0, 1            ; carry in makes the carry
        ALU 32, 'adc2', adc, 0x7FFFFFFF, 0, 1
        ALU 32, 'adc3', adc, 0x0000000F, 0x00000000, 1   ; AF from the carry in
        ALU 32, 'sub1', sub, 0, 1, 0
        ALU 32, 'sub2', sub, 0x80000000, 1, 0            ; signed overflow
        ALU 32, 'sub3', sub, 0x12345678, 0x12345678, 0
        ALU 32, 'sbb1', sbb, 0, 0, 1
        ALU 32, 'sbb2', sbb, 0x80000000, 0x7FFFFFFF, 1   ; 0x80000000 - 0x80000000
        ALU 32, 'sbb3', sbb, 5, 5, 1
        ALU 32, 'cmp1', cmp, 1, 2, 0
        ALU 32, 'cmp2', cmp, 0x80000000, 1, 0
        ALU 32, 'and1', and, 0xF0F0F0F0, 0x0FF00FF0, 1   ; CF cleared
        ALU 32, 'or1',  or,  0x80000000, 0x00000001, 1
        ALU 32, 'xor1', xor, 0xDEADBEEF, 0xDEADBEEF, 1
        ALU 32, 'test1', test, 0x80000000, 0xFFFFFFFF, 1

; ==== ALU, 16- and 8-bit (upper register bits kept) =========================================
        ALU 16, 'add16', add, 0x7FFF, 1, 0
        ALU 16, 'adc16', adc, 0xFFFF, 0xFFFF, 1
        ALU 16, 'sbb16', sbb, 0x0000, 0xFFFF, 1
        ALU 8,  'add8',  add, 0x7F, 1, 0
        ALU 8,  'sub8',  sub, 0x10, 0x01, 0
        ALU 8,  'sbb8',  sbb, 0x00, 0x7F, 1

; ==== INC / DEC / NEG / NOT =================================================================
        ; INC 0xFFFFFFFF -> 0: ZF AF PF set, CF kept (set here), OF clear.
        mov     eax, 0xFFFFFFFF
        stc
        inc     eax
        EXPECTFLAGS F_ARITH, F_ZF | F_AF | F_PF | F_CF, 'inc32 flags'
        EXPECTD eax, 0, 'inc32 result'
        ; DEC 0x80000000 -> 0x7FFFFFFF: OF AF PF set, CF kept (clear here).
        ; PF: low byte 0xFF has 8 bits set -> even -> PF = 1.
        mov     eax, 0x80000000
        clc
        dec     eax
        EXPECTFLAGS F_ARITH, F_OF | F_AF | F_PF, 'dec32 flags'
        EXPECTD eax, 0x7FFFFFFF, 'dec32 result'
        ; NEG 5 = 0 - 5 (calc.inc); NEG 0 clears CF.
        CALC_SUB 32, 0, 5, 0
        mov     eax, 5
        neg     eax
        EXPECTFLAGS F_ARITH, CALC_F, 'neg32 flags'
        EXPECTD eax, CALC_R, 'neg32 result'
        xor     eax, eax
        stc
        neg     eax
        EXPECTFLAGS F_CF | F_ZF, F_ZF, 'neg32 of 0 flags'
        ; NOT changes no flags.
        mov     eax, 0x0F0F0F0F
        stc
        not     eax
        EXPECTFLAGS F_CF, F_CF, 'not32 flags'
        EXPECTD eax, 0xF0F0F0F0, 'not32 result'

; ==== MUL / IMUL / DIV / IDIV (CF and OF only: SF ZF AF PF are undefined) =====================
        ; 0x12345678 * 0x9ABCDEF0 = 0x0B00EA4E_242D2080: EDX != 0 -> CF = OF = 1.
        mov     eax, 0x12345678
        mov     ebx, 0x9ABCDEF0
        mul     ebx
        EXPECTFLAGS F_CF | F_OF, F_CF | F_OF, 'mul32 flags'
        EXPECTD eax, 0x242D2080, 'mul32 eax'
        EXPECTD edx, 0x0B00EA4E, 'mul32 edx'
        mov     eax, 3
        mov     ebx, 5
        mov     edx, 0xFFFF
        mul     ebx
        EXPECTFLAGS F_CF | F_OF, 0, 'mul32 small flags'
        EXPECTD eax, 15, 'mul32 small eax'
        EXPECTD edx, 0, 'mul32 small edx'
        ; IMUL one operand: -3 * 5 = -15 = EDX:EAX FFFFFFFF:FFFFFFF1, fits EAX -> CF = OF = 0.
        mov     eax, -3
        mov     ebx, 5
        imul    ebx
        EXPECTFLAGS F_CF | F_OF, 0, 'imul32 1-op flags'
        EXPECTD eax, 0xFFFFFFF1, 'imul32 1-op eax'
        EXPECTD edx, 0xFFFFFFFF, 'imul32 1-op edx'
        ; 0x10000 * 0x10000 = 2^32: EDX = 1, EAX = 0, CF = OF = 1.
        mov     eax, 0x10000
        mov     ebx, 0x10000
        imul    ebx
        EXPECTFLAGS F_CF | F_OF, F_CF | F_OF, 'imul32 overflow flags'
        EXPECTD eax, 0, 'imul32 overflow eax'
        EXPECTD edx, 1, 'imul32 overflow edx'
        ; IMUL r32, r/m32: 0x7FFFFFFF * 2 = 0xFFFFFFFE truncated, overflow.
        mov     eax, 0x7FFFFFFF
        mov     ebx, 2
        imul    eax, ebx
        EXPECTFLAGS F_CF | F_OF, F_CF | F_OF, 'imul32 2-op flags'
        EXPECTD eax, 0xFFFFFFFE, 'imul32 2-op result'
        ; IMUL r32, r/m32, imm32: -7 * 1000 = -7000 = 0xFFFFE4A8.
        mov     ebx, -7
        imul    ecx, ebx, 1000
        EXPECTFLAGS F_CF | F_OF, 0, 'imul32 imm32 flags'
        EXPECTD ecx, 0xFFFFE4A8, 'imul32 imm32 result'
        ; IMUL r32, r/m32, imm8: 0x40000000 * -2 = -2^31, exactly representable.
        mov     ebx, 0x40000000
        imul    ecx, ebx, byte -2
        EXPECTFLAGS F_CF | F_OF, 0, 'imul32 imm8 flags'
        EXPECTD ecx, 0x80000000, 'imul32 imm8 result'
        ; 8-bit IMUL: -128 * -1 = 128 = AX 0x0080, does not fit AL -> CF = OF = 1.
        mov     ax, 0x1280
        mov     bl, 0xFF
        imul    bl
        EXPECTFLAGS F_CF | F_OF, F_CF | F_OF, 'imul8 flags'
        EXPECTW ax, 0x0080, 'imul8 result'
        ; 16-bit MUL: 0xFFFF * 0xFFFF = 0xFFFE0001.
        mov     ax, 0xFFFF
        mov     bx, 0xFFFF
        mul     bx
        EXPECTW ax, 0x0001, 'mul16 ax'
        EXPECTW dx, 0xFFFE, 'mul16 dx'
        ; DIV: 0x12_34567890 / 0x1000 = 0x01234567 rem 0x890.
        mov     edx, 0x12
        mov     eax, 0x34567890
        mov     ecx, 0x1000
        div     ecx
        EXPECTD eax, 0x01234567, 'div32 quotient'
        EXPECTD edx, 0x890, 'div32 remainder'
        ; IDIV truncates toward zero; the remainder has the dividend's sign.
        mov     eax, -100
        cdq
        mov     ecx, 7
        idiv    ecx
        EXPECTD eax, -14, 'idiv32 -100/7 quotient'
        EXPECTD edx, -2, 'idiv32 -100/7 remainder'
        mov     eax, 100
        cdq
        mov     ecx, -7
        idiv    ecx
        EXPECTD eax, -14, 'idiv32 100/-7 quotient'
        EXPECTD edx, 2, 'idiv32 100/-7 remainder'

; ==== shifts and rotates, 32-bit ==============================================================
        ; SHL 0x80000001 by 1 -> 2, CF = 1 (bit out), OF = MSB(result) ^ CF = 1.
        mov     eax, 0x80000001
        shl     eax, 1
        EXPECTFLAGS F_CF | F_OF | F_ZF | F_SF, F_CF | F_OF, 'shl32 flags'
        EXPECTD eax, 2, 'shl32 result'
        ; The count is masked to 5 bits: SHR by 33 is SHR by 1.
        mov     eax, 0x80000003
        mov     cl, 33
        shr     eax, cl
        EXPECTFLAGS F_CF | F_OF | F_ZF | F_SF, F_CF | F_OF, 'shr32 cl=33 flags'
        EXPECTD eax, 0x40000001, 'shr32 cl=33 result'
        ; SAR 0x80000000 by 31 -> 0xFFFFFFFF, CF = bit 30 = 0.
        mov     eax, 0x80000000
        sar     eax, 31
        EXPECTFLAGS F_CF | F_ZF | F_SF, F_SF, 'sar32 flags'
        EXPECTD eax, 0xFFFFFFFF, 'sar32 result'
        ; ROL by 4: 0x12345678 -> 0x23456781, CF = LSB of the result = 1.
        mov     eax, 0x12345678
        rol     eax, 4
        EXPECTFLAGS F_CF, F_CF, 'rol32 flags'
        EXPECTD eax, 0x23456781, 'rol32 result'
        ; ROR by 4: 0x12345678 -> 0x81234567, CF = MSB of the result = 1.
        mov     eax, 0x12345678
        ror     eax, 4
        EXPECTFLAGS F_CF, F_CF, 'ror32 flags'
        EXPECTD eax, 0x81234567, 'ror32 result'
        ; RCL by 1 with CF = 1: 0x80000000 -> 0x00000001, CF = 1, OF = MSB ^ CF = 1.
        mov     eax, 0x80000000
        stc
        rcl     eax, 1
        EXPECTFLAGS F_CF | F_OF, F_CF | F_OF, 'rcl32 flags'
        EXPECTD eax, 1, 'rcl32 result'
        ; RCR by 1 with CF = 0: 1 -> 0, CF = 1, OF = MSB ^ next-MSB of the result = 0.
        mov     eax, 1
        clc
        rcr     eax, 1
        EXPECTFLAGS F_CF | F_OF, F_CF, 'rcr32 flags'
        EXPECTD eax, 0, 'rcr32 result'

; ==== SHLD / SHRD ============================================================================
        ; SHLD EAX, EBX, 8: (0x12345678 << 8) | (0x9ABCDEF0 >> 24) = 0x3456789A;
        ; CF = bit 24 of the old EAX = 0 (0x12 = 0001 0010b).
        mov     eax, 0x12345678
        mov     ebx, 0x9ABCDEF0
        shld    eax, ebx, 8
        EXPECTFLAGS F_CF | F_ZF | F_SF, 0, 'shld32 imm flags'
        EXPECTD eax, 0x3456789A, 'shld32 imm result'
        EXPECTD ebx, 0x9ABCDEF0, 'shld32 source changed'
        ; SHRD EAX, EBX, CL=4: (0x12345678 >> 4) | (0x9ABCDEF0 << 28) = 0x01234567;
        ; CF = bit 3 of the old EAX = 1.
        mov     eax, 0x12345678
        mov     cl, 4
        shrd    eax, ebx, cl
        EXPECTFLAGS F_CF | F_ZF | F_SF, F_CF, 'shrd32 cl flags'
        EXPECTD eax, 0x01234567, 'shrd32 cl result'
        ; Count masked to 5 bits: 36 -> 4: (0x12345678 << 4) | (0x9ABCDEF0 >> 28) = 0x23456789,
        ; CF = bit 28 of the old EAX = 1.
        mov     eax, 0x12345678
        mov     cl, 36
        shld    eax, ebx, cl
        EXPECTFLAGS F_CF | F_ZF | F_SF, F_CF, 'shld32 cl=36 flags'
        EXPECTD eax, 0x23456789, 'shld32 cl=36 result'
        ; Count 0: nothing changes, not even the flags.
        mov     eax, 0x12345678
        stc
        mov     cl, 32                  ; masked to 0
        shld    eax, ebx, cl
        EXPECTFLAGS F_CF, F_CF, 'shld32 count 0 flags'
        EXPECTD eax, 0x12345678, 'shld32 count 0 result'
        ; 16-bit SHRD mem: word 0x1234, source 0xABCD, 8 -> 0xCD12, CF = bit 7 of 0x1234 = 0.
        mov     word [m32], 0x1234
        mov     dx, 0xABCD
        shrd    word [m32], dx, 8
        EXPECTFLAGS F_CF | F_SF, F_SF, 'shrd16 mem flags'
        EXPECTW [m32], 0xCD12, 'shrd16 mem result'

; ==== 32-bit addressing ======================================================================
        mov     dword [0x100C], 0xDEADBEEF
        mov     dword [0x1010], 0x0BADF00D
        ; [base + index*4 + disp32]: 0x0F00 + 3*4 + 0x100 = 0x100C.
        mov     ebx, 0x0F00
        mov     ecx, 3
        mov     eax, [ebx + ecx*4 + 0x100]
        EXPECTD eax, 0xDEADBEEF, 'addr [ebx+ecx*4+disp32]'
        ; [index*8 + disp32] without a base: 2*8 + 0x1000 = 0x1010.
        mov     ecx, 2
        mov     eax, [ecx*8 + 0x1000]
        EXPECTD eax, 0x0BADF00D, 'addr [ecx*8+disp32]'
        ; [disp32] alone.
        mov     eax, [dword 0x100C]
        EXPECTD eax, 0xDEADBEEF, 'addr [disp32]'
        ; [esi + edi*2 + disp8] store then load.
        mov     esi, 0x1100
        mov     edi, 0x10
        mov     word [esi + edi*2 + 4], 0x7788    ; 0x1124
        EXPECTW [0x1124], 0x7788, 'addr [esi+edi*2+disp8] store'
        ; LEA computes without memory; 32-bit operand, 32-bit address.
        mov     eax, 0x10
        lea     eax, [eax + eax*8 + 0x12345678]
        EXPECTD eax, 0x12345678 + 0x90, 'lea [eax+eax*8+disp32]'
        ; LEA with a 16-bit operand and 32-bit address: truncated.
        mov     ecx, 0x0001FFFF
        mov     edx, 0x00010003
        mov     eax, 0x55550000
        lea     ax, [ecx + edx]
        EXPECTD eax, 0x55550002, 'lea ax,[ecx+edx] truncation'
        ; LEA with a 32-bit operand and 16-bit address: the 16-bit EA, zero-extended.
        mov     bx, 0xFFFF
        mov     si, 2
        mov     eax, 0xFFFFFFFF
        lea     eax, [bx + si + 0x10]
        EXPECTD eax, 0x00000011, 'lea eax,[bx+si+0x10] wraps at 16 bits'

        ; Default segments: EBP and ESP as base use SS, other bases and any index DS.
        ; DS = 0x0010 (base 0x100), SS = 0: the same offset reads different bytes.
        mov     dword [0x1000], 0x55AA55AA      ; SS:1000 (linear 0x1000)
        mov     dword [0x1100], 0x11223344      ; DS':1000 (linear 0x1100)
        mov     ax, 0x0010
        mov     ds, ax
        mov     ebp, 0x1000
        mov     eax, [ebp]                      ; SS
        mov     ebx, 0x1000
        mov     ecx, [ebx]                      ; DS
        xor     edx, edx
        db      0x66, 0x67, 0x8B, 0xB4, 0x15    ; mov esi, [ebp + edx*1 + disp32]: base EBP -> SS
        dd      0
        db      0x66, 0x67, 0x8B, 0x14, 0x2A    ; mov edx, [edx + ebp*1]: base EDX -> DS
        mov     [m32 - 0x100], esi              ; through DS' (base 0x100) into m32
        mov     esp, 0x0FF0                     ; [esp + disp] uses SS: SS:1000
        mov     edi, [esp + 0x10]
        mov     esp, 0x7C00
        xor     bx, bx
        mov     ds, bx
        EXPECTD eax, 0x55AA55AA, 'seg [ebp] uses SS'
        EXPECTD ecx, 0x11223344, 'seg [ebx] uses DS'
        EXPECTD edx, 0x11223344, 'seg [edx+ebp*1] uses DS (EBP as index)'
        EXPECTD [m32], 0x55AA55AA, 'seg [ebp+edx*1+disp32] uses SS'
        EXPECTD edi, 0x55AA55AA, 'seg [esp+disp8] uses SS'
        ; 16-bit forms: [bp+si] uses SS, [bx+si] DS.
        mov     dword [0x1000], 0x0A0B0C0D      ; linear 0x1000
        mov     dword [0x1100], 0x01020304      ; linear 0x1100
        mov     ax, 0x0010
        mov     ds, ax
        mov     bp, 0x0800
        mov     si, 0x0800
        mov     eax, [bp + si]                  ; SS:1000
        mov     bx, 0x0800
        mov     ecx, [bx + si]                  ; DS':1000 = 0x1100
        xor     bx, bx
        mov     ds, bx
        EXPECTD eax, 0x0A0B0C0D, 'seg [bp+si] uses SS'
        EXPECTD ecx, 0x01020304, 'seg [bx+si] uses DS'

; ==== MOVZX / MOVSX ==========================================================================
        mov     byte [m8], 0x80
        mov     word [m32], 0x8001
        movzx   eax, byte [m8]
        EXPECTD eax, 0x00000080, 'movzx eax, byte'
        movsx   eax, byte [m8]
        EXPECTD eax, 0xFFFFFF80, 'movsx eax, byte'
        movzx   eax, word [m32]
        EXPECTD eax, 0x00008001, 'movzx eax, word'
        movsx   eax, word [m32]
        EXPECTD eax, 0xFFFF8001, 'movsx eax, word'
        mov     eax, 0x12340000
        mov     bl, 0xFF
        movsx   ax, bl
        EXPECTD eax, 0x1234FFFF, 'movsx ax, bl keeps the upper half'
        mov     ecx, 0xAAAAAAAA
        mov     al, 0x7F
        movzx   cx, al
        EXPECTD ecx, 0xAAAA007F, 'movzx cx, al keeps the upper half'

; ==== BT / BTS / BTR / BTC ====================================================================
        mov     eax, 0x20
        bt      eax, 5
        EXPECTFLAGS F_CF, F_CF, 'bt eax,5'
        mov     eax, 0x00000001
        bts     eax, 31
        EXPECTFLAGS F_CF, 0, 'bts eax,31 CF'
        EXPECTD eax, 0x80000001, 'bts eax,31 result'
        btr     eax, 0
        EXPECTFLAGS F_CF, F_CF, 'btr eax,0 CF'
        EXPECTD eax, 0x80000000, 'btr eax,0 result'
        mov     ecx, 37                 ; register operand: offset mod 32 = 5
        btc     eax, ecx
        EXPECTFLAGS F_CF, 0, 'btc eax,ecx=37 CF'
        EXPECTD eax, 0x80000020, 'btc eax,ecx=37 result'
        ; Memory bit strings: a register offset reaches past the operand.
        mov     dword [bitbuf - 4], 0
        mov     dword [bitbuf], 0
        mov     dword [bitbuf + 4], 0x00000008
        mov     dword [bitbuf + 8], 0
        mov     ecx, 35                 ; dword at bitbuf + 4, bit 3
        bt      dword [bitbuf], ecx
        EXPECTFLAGS F_CF, F_CF, 'bt [mem],ecx=35'
        mov     ecx, -1                 ; dword at bitbuf - 4, bit 31
        bts     dword [bitbuf], ecx
        EXPECTFLAGS F_CF, 0, 'bts [mem],ecx=-1 CF'
        EXPECTD [bitbuf - 4], 0x80000000, 'bts [mem],ecx=-1 result'
        mov     cx, 17                  ; word at bitbuf + 2, bit 1
        bts     word [bitbuf], cx
        EXPECTD [bitbuf], 0x00020000, 'bts word [mem],cx=17'
        ; An immediate offset is masked to the operand size: 35 -> bit 3 of the dword at bitbuf.
        bts     dword [bitbuf], 35
        EXPECTFLAGS F_CF, 0, 'bts [mem],35 CF'
        EXPECTD [bitbuf], 0x00020008, 'bts [mem],35 result'
        EXPECTD [bitbuf + 4], 0x00000008, 'bts [mem],35 left bitbuf+4 alone'

; ==== BSF / BSR ===============================================================================
        mov     ebx, 0x00018000
        bsf     eax, ebx
        EXPECTFLAGS F_ZF, 0, 'bsf ZF'
        EXPECTD eax, 15, 'bsf result'
        bsr     eax, ebx
        EXPECTFLAGS F_ZF, 0, 'bsr ZF'
        EXPECTD eax, 16, 'bsr result'
        xor     ebx, ebx
        bsf     eax, ebx
        EXPECTFLAGS F_ZF, F_ZF, 'bsf of 0 sets ZF'
        bsr     eax, ebx
        EXPECTFLAGS F_ZF, F_ZF, 'bsr of 0 sets ZF'
        mov     bx, 0x8000
        bsf     ax, bx
        EXPECTW ax, 15, 'bsf16 result'

; ==== SETcc (after CMP) =========================================================================
        ; CMP 1, 2: result 0xFFFFFFFF: CF=1 ZF=0 SF=1 OF=0 PF=1.
        mov     eax, 1
        mov     ebx, 2
        cmp     eax, ebx
        setb    al
        EXPECTB al, 1, 'setb after cmp 1,2'
        mov     eax, 1
        cmp     eax, ebx
        seta    cl
        EXPECTB cl, 0, 'seta after cmp 1,2'
        cmp     eax, ebx
        setl    cl
        EXPECTB cl, 1, 'setl after cmp 1,2'
        cmp     eax, ebx
        setg    cl
        EXPECTB cl, 0, 'setg after cmp 1,2'
        cmp     eax, ebx
        sets    cl
        EXPECTB cl, 1, 'sets after cmp 1,2'
        cmp     eax, ebx
        setp    cl
        EXPECTB cl, 1, 'setp after cmp 1,2'
        cmp     eax, ebx
        setbe   cl
        EXPECTB cl, 1, 'setbe after cmp 1,2'
        cmp     eax, ebx
        setge   cl
        EXPECTB cl, 0, 'setge after cmp 1,2'
        ; CMP 0x80000000, 1: unsigned above, signed less (OF = 1, SF = 0).
        mov     eax, 0x80000000
        cmp     eax, 1
        seta    cl
        EXPECTB cl, 1, 'seta after cmp 80000000,1'
        cmp     eax, 1
        setl    cl
        EXPECTB cl, 1, 'setl after cmp 80000000,1'
        cmp     eax, 1
        seto    cl
        EXPECTB cl, 1, 'seto after cmp 80000000,1'
        cmp     eax, 1
        setle   cl
        EXPECTB cl, 1, 'setle after cmp 80000000,1'
        cmp     eax, eax
        setz    byte [m8]
        EXPECTB [m8], 1, 'setz to memory'
        cmp     eax, eax
        setnz   byte [m8]
        EXPECTB [m8], 0, 'setnz to memory'

; ==== CMOVcc (P6) ============================================================================
        mov     eax, 1
        mov     ebx, 2
        cmp     eax, eax
        cmovz   eax, ebx
        EXPECTD eax, 2, 'cmovz taken'
        mov     eax, 1
        cmp     eax, ebx
        cmovz   eax, ebx
        EXPECTD eax, 1, 'cmovz not taken'
        mov     ecx, 0x11110000
        mov     dx, 0x2222
        cmp     eax, ebx
        cmovnz  cx, dx
        EXPECTD ecx, 0x11112222, 'cmovnz cx,dx (16-bit)'
        mov     dword [m32], 0xCAFEF00D
        mov     eax, -1
        cmp     eax, 0
        cmovl   eax, [m32]
        EXPECTD eax, 0xCAFEF00D, 'cmovl eax,[mem]'

; ==== XADD / CMPXCHG / CMPXCHG8B ===============================================================
        mov     eax, 5
        mov     ebx, 3
        xadd    eax, ebx
        EXPECTD eax, 8, 'xadd eax,ebx sum'
        EXPECTD ebx, 5, 'xadd eax,ebx old'
        mov     dword [m32], 0xFFFFFFFF
        mov     ecx, 1
        xadd    [m32], ecx
        EXPECTFLAGS F_CF | F_ZF | F_SF | F_OF, F_CF | F_ZF, 'xadd [mem],ecx flags'
        EXPECTD [m32], 0, 'xadd [mem],ecx sum'
        EXPECTD ecx, 0xFFFFFFFF, 'xadd [mem],ecx old'
        mov     al, 0x7F
        mov     bl, 1
        xadd    al, bl
        EXPECTFLAGS F_OF | F_SF, F_OF | F_SF, 'xadd al,bl flags'
        EXPECTB al, 0x80, 'xadd al,bl sum'
        EXPECTB bl, 0x7F, 'xadd al,bl old'
        ; CMPXCHG equal: destination := source, ZF = 1.
        mov     dword [m32], 7
        mov     eax, 7
        mov     ecx, 9
        cmpxchg [m32], ecx
        EXPECTFLAGS F_ZF, F_ZF, 'cmpxchg equal ZF'
        EXPECTD [m32], 9, 'cmpxchg equal stored'
        EXPECTD eax, 7, 'cmpxchg equal eax'
        ; CMPXCHG not equal: EAX := destination, ZF = 0, flags of CMP EAX, dest (8 - 9: CF).
        mov     eax, 8
        mov     ecx, 1
        cmpxchg [m32], ecx
        EXPECTFLAGS F_ZF | F_CF, F_CF, 'cmpxchg not equal flags'
        EXPECTD [m32], 9, 'cmpxchg not equal memory'
        EXPECTD eax, 9, 'cmpxchg not equal eax'
        ; Register form, 16-bit.
        mov     ax, 0x1234
        mov     bx, 0x1234
        mov     cx, 0x5678
        cmpxchg bx, cx
        EXPECTW bx, 0x5678, 'cmpxchg bx,cx equal'
        ; CMPXCHG8B equal: m64 := ECX:EBX, ZF = 1.
        mov     dword [m64], 0x22222222
        mov     dword [m64 + 4], 0x11111111
        mov     edx, 0x11111111
        mov     eax, 0x22222222
        mov     ecx, 0x33333333
        mov     ebx, 0x44444444
        cmpxchg8b [m64]
        EXPECTFLAGS F_ZF, F_ZF, 'cmpxchg8b equal ZF'
        EXPECTD [m64], 0x44444444, 'cmpxchg8b equal low'
        EXPECTD [m64 + 4], 0x33333333, 'cmpxchg8b equal high'
        ; Not equal: EDX:EAX := m64, ZF = 0.
        xor     eax, eax
        xor     edx, edx
        cmpxchg8b [m64]
        EXPECTFLAGS F_ZF, 0, 'cmpxchg8b not equal ZF'
        EXPECTD eax, 0x44444444, 'cmpxchg8b not equal eax'
        EXPECTD edx, 0x33333333, 'cmpxchg8b not equal edx'

; ==== BSWAP ===================================================================================
        mov     eax, 0x12345678
        bswap   eax
        EXPECTD eax, 0x78563412, 'bswap eax'
        mov     edi, 0xAABBCCDD
        bswap   edi
        EXPECTD edi, 0xDDCCBBAA, 'bswap edi'

; ==== 32-bit stack operations and near transfers =============================================
        push    dword 0x12345678
        mov     bx, sp
        pop     ecx
        EXPECTW bx, 0x7C00 - 4, 'push dword: SP - 4'
        EXPECTD ecx, 0x12345678, 'push dword / pop ecx'
        push    word 0xFFFF
        push    word 0x0001
        pop     eax                     ; low word first: 0xFFFF0001
        EXPECTD eax, 0xFFFF0001, 'pop eax of two pushed words'
        ; O32 CALL pushes a 32-bit return address; O32 RET pops it.
        call    dword near_callee
        EXPECTW [sp_in_callee], 0x7C00 - 4, 'o32 call pushes 4 bytes'
        mov     bx, sp
        EXPECTW bx, 0x7C00, 'o32 ret pops 4 bytes'
        ; Jcc rel16 (0F 8x).
        xor     eax, eax
        jz      near .jz_ok
        FAILNOW 'jz near not taken'
.jz_ok:
        ; 16-bit ops leave the upper half alone.
        mov     eax, 0x1234FFFF
        add     ax, 1
        EXPECTD eax, 0x12340000, 'add ax leaves eax upper half'
        mov     eax, 0x12345678
        mov     al, 0
        EXPECTD eax, 0x12345600, 'mov al leaves eax upper bytes'
        mov     ah, 0xAB
        EXPECTD eax, 0x1234AB00, 'mov ah'

        FINISH

near_callee:
        mov     [sp_in_callee], sp
        o32 ret
