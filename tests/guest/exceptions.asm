; exceptions: faults, traps and software interrupts delivered through the
; real-mode IVT (SDM Vol. 3 §20.1.4: FLAGS, CS, IP pushed, no error code; IF,
; TF and AC cleared). Faults push the address OF the faulting instruction
; (prefixes included), traps and INT n the address after it (SDM Vol. 3 §6.5).
;
; A "catch" handler records vector, pushed CS:IP and FLAGS, then resumes at
; resume_cs:resume_ip, so each case says where execution continues.
;
; Cases: #DE (DIV/IDIV by zero and quotient overflow at 8/16/32 bits, AAM 0;
; IDIV giving -128 does not fault), #BP (INT3, INT 3), #OF (INTO with and
; without OF), #BR (BOUND, signed, 16- and 32-bit), #UD (UD2, UD1, UD0, LOCK on
; a non-lockable instruction or a register destination, LEA/BOUND/LES with a
; register operand, MOV CS, an undefined 0F opcode, a prefixed UD2), #GP on a
; DS/ES/CS/FS/GS access past the 64 KiB limit (word at 0xFFFF, dword at 0xFFFD,
; a 32-bit address above 0xFFFF, MOVSW), on an instruction fetch across the CS
; limit and on a JMP past it; #SS on a word at SS:0xFFFF and POP with
; SP = 0xFFFF; the accesses that must NOT fault (byte at 0xFFFF, 16-bit
; address wrap, PUSH/POP with SP wrapping); INT n and IRET; ICEBP; and TF
; single-stepping (no trap after the POPF that sets TF, a trap after the one
; that clears it, a jump, MOV SS holding the trap for one instruction, one trap
; per REP iteration).

%define TEST_NAME 'exceptions'
        org     0x7C00
%include "common.inc"

absolute 0x0600
exc_count:      resw 1
exc_vec:        resw 1
exc_ip:         resw 1
exc_cs:         resw 1
exc_flags:      resw 1
exc_hflags:     resw 1          ; FLAGS inside the handler
resume_ip:      resw 1
resume_cs:      resw 1
saved_sp:       resw 1
step_count:     resw 1
step_flags:     resw 1
step_ips:       resw 16
mem_word:       resw 1
bnd16:          resw 2
bnd16s:         resw 2
bnd32:          resd 2
section .text

; CLEAR_STEPS: no single-step traps recorded yet (IP slots read 0xFFFF).
%macro CLEAR_STEPS 0
        mov     word [step_count], 0
        push    es
        push    di
        push    cx
        push    ax
        xor     ax, ax
        mov     es, ax
        mov     di, step_ips
        mov     ax, 0xFFFF
        mov     cx, 16
        rep stosw
        pop     ax
        pop     cx
        pop     di
        pop     es
%endmacro

; ARM resume_label: clear the record and say where a caught exception resumes.
%macro ARM 1
        mov     word [exc_count], 0
        mov     word [exc_vec], 0xFFFF
        mov     word [exc_ip], 0xFFFF
        mov     word [exc_cs], 0xFFFF
        mov     word [resume_ip], %1
        mov     word [resume_cs], 0
%endmacro

; CAUGHT name, vector, pushed-ip: exactly one exception with this vector and IP (CS 0).
%macro CAUGHT 3
        EXPECTW [exc_count], 1, {%1, ': exception count'}
        EXPECTW [exc_vec], %2, {%1, ': vector'}
        EXPECTW [exc_ip], %3, {%1, ': pushed IP'}
        EXPECTW [exc_cs], 0, {%1, ': pushed CS'}
%endmacro

; NOTCAUGHT name: no exception since ARM.
%macro NOTCAUGHT 1
        EXPECTW [exc_count], 0, {%1, ': unexpected exception'}
%endmacro

main:
        INIT
        ; Catch the vectors under test.
        SET_VECTOR 0, catch_0
        SET_VECTOR 1, catch_1
        SET_VECTOR 3, catch_3
        SET_VECTOR 4, catch_4
        SET_VECTOR 5, catch_5
        SET_VECTOR 6, catch_6
        SET_VECTOR 12, catch_12
        SET_VECTOR 13, catch_13
        SET_VECTOR 0x80, catch_80

; ==== #DE ===================================================================================
        ARM     de1_r
        mov     ax, 5
        xor     dx, dx
        xor     bx, bx
de1_f:  div     bx
        FAILNOW 'de1: div by zero did not fault'
de1_r:  CAUGHT  'de1 div bx=0', 0, de1_f
        EXPECTW ax, 5, 'de1: ax changed'
        EXPECTW dx, 0, 'de1: dx changed'

        ARM     de2_r
        mov     ax, 0x1000
        mov     bl, 0x10
de2_f:  div     bl                      ; 0x1000 / 0x10 = 0x100 > 0xFF
        FAILNOW 'de2: 8-bit quotient overflow did not fault'
de2_r:  CAUGHT  'de2 div bl overflow', 0, de2_f
        EXPECTW ax, 0x1000, 'de2: ax changed'

        ARM     de3_r
        mov     dx, 0xFFFF
        mov     ax, 0x8000              ; DX:AX = -32768
        mov     bx, 0xFFFF              ; -1
de3_f:  idiv    bx                      ; +32768 > 32767
        FAILNOW 'de3: 16-bit idiv overflow did not fault'
de3_r:  CAUGHT  'de3 idiv -32768/-1', 0, de3_f

        ARM     de4_r
        mov     edx, 1
        xor     eax, eax
        mov     ecx, 1
de4_f:  div     ecx                     ; 2^32 / 1 does not fit in 32 bits
        FAILNOW 'de4: 32-bit div overflow did not fault'
de4_r:  CAUGHT  'de4 div ecx overflow', 0, de4_f
        EXPECTD eax, 0, 'de4: eax changed'
        EXPECTD edx, 1, 'de4: edx changed'

        ARM     de5_r
        mov     ax, 0xFF00              ; -256
        mov     bl, 2
        idiv    bl                      ; -128 fits (286 and later)
de5_r:  NOTCAUGHT 'de5 idiv -256/2'
        EXPECTW ax, 0x0080, 'de5: idiv -256/2 = -128 rem 0'

        ARM     de6_r
        mov     ax, 0x1234
de6_f:  db      0xD4, 0x00              ; aam 0
        FAILNOW 'de6: aam 0 did not fault'
de6_r:  CAUGHT  'de6 aam 0', 0, de6_f
        EXPECTW ax, 0x1234, 'de6: ax changed'

        ARM     de7_r
        xor     edx, edx
        mov     eax, 7
        xor     ecx, ecx
de7_f:  idiv    ecx
        FAILNOW 'de7: idiv ecx=0 did not fault'
de7_r:  CAUGHT  'de7 idiv ecx=0', 0, de7_f

; ==== #BP, INT n, #OF =======================================================================
        ARM     bp1_r
        int3
bp1_n:  FAILNOW 'bp1: int3 did not trap'
bp1_r:  CAUGHT  'bp1 int3', 3, bp1_n

        ARM     bp2_r
        int     3                       ; CD 03
bp2_n:  FAILNOW 'bp2: int 3 did not trap'
bp2_r:  CAUGHT  'bp2 int 3 (CD 03)', 3, bp2_n

        ; INT n: IF and TF cleared in the handler, FLAGS pushed as they were, IRET restores them.
        ARM     int1_r
        stc
        sti                             ; nothing on this board can interrupt
        int     0x80
int1_n: FAILNOW 'int1: int 0x80 did not reach the handler'
int1_r: cli
        EXPECTFLAGS F_CF, F_CF, 'int1: CF not restored by IRET'
        EXPECTW [exc_count], 1, 'int1: count'
        EXPECTW [exc_vec], 0x80, 'int1: vector'
        EXPECTW [exc_ip], int1_n, 'int1: pushed IP'
        mov     ax, [exc_flags]
        and     ax, F_IF | F_CF
        EXPECTW ax, F_IF | F_CF, 'int1: pushed FLAGS (IF, CF)'
        mov     ax, [exc_hflags]
        and     ax, F_IF | F_TF
        EXPECTW ax, 0, 'int1: IF/TF set inside the handler'

        ARM     of1_r
        mov     al, 0x7F
        add     al, 1                   ; OF = 1
        into
of1_n:  FAILNOW 'of1: into with OF=1 did not trap'
of1_r:  CAUGHT  'of1 into', 4, of1_n

        ARM     of2_r
        mov     al, 1
        add     al, 1                   ; OF = 0
        into
of2_r:  NOTCAUGHT 'of2 into with OF=0'

; ==== #BR ===================================================================================
        mov     word [bnd16], 10
        mov     word [bnd16 + 2], 20
        ARM     br1_r
        mov     ax, 5
br1_f:  bound   ax, [bnd16]
        FAILNOW 'br1: bound below range did not fault'
br1_r:  CAUGHT  'br1 bound 5 in [10,20]', 5, br1_f

        ARM     br2_r
        mov     ax, 10
        bound   ax, [bnd16]
        mov     ax, 20
        bound   ax, [bnd16]
br2_r:  NOTCAUGHT 'br2 bound at the limits (inclusive)'

        ARM     br3_r
        mov     ax, 21
br3_f:  bound   ax, [bnd16]
        FAILNOW 'br3: bound above range did not fault'
br3_r:  CAUGHT  'br3 bound 21 in [10,20]', 5, br3_f

        mov     word [bnd16s], -5
        mov     word [bnd16s + 2], 5
        ARM     br4_r
        mov     ax, -5
        bound   ax, [bnd16s]
br4_r:  NOTCAUGHT 'br4 bound -5 in [-5,5] (signed)'
        ARM     br5_r
        mov     ax, -16
br5_f:  bound   ax, [bnd16s]
        FAILNOW 'br5: signed bound did not fault'
br5_r:  CAUGHT  'br5 bound -16 in [-5,5]', 5, br5_f

        mov     dword [bnd32], -100000
        mov     dword [bnd32 + 4], 100000
        ARM     br6_r
        mov     eax, 100000
        bound   eax, [bnd32]
        mov     eax, -100000
        bound   eax, [bnd32]
br6_r:  NOTCAUGHT 'br6 bound eax at the limits'
        ARM     br7_r
        mov     eax, 100001
br7_f:  bound   eax, [bnd32]
        FAILNOW 'br7: 32-bit bound did not fault'
br7_r:  CAUGHT  'br7 bound eax=100001', 5, br7_f

; ==== #UD ===================================================================================
        ARM     ud1_r
        stc
ud1_f:  ud2
        FAILNOW 'ud1: ud2 did not fault'
ud1_r:  CAUGHT  'ud1 ud2', 6, ud1_f
        mov     ax, [exc_flags]
        and     ax, F_CF
        EXPECTW ax, F_CF, 'ud1: pushed FLAGS lost CF'

        ARM     ud2_r
ud2_f:  db      0x0F, 0xB9, 0xC0        ; ud1 eax, eax
        FAILNOW 'ud2: ud1 did not fault'
ud2_r:  CAUGHT  'ud2 ud1 (0F B9)', 6, ud2_f

        ARM     ud3_r
ud3_f:  db      0x0F, 0xFF, 0xC0        ; ud0
        FAILNOW 'ud3: ud0 did not fault'
ud3_r:  CAUGHT  'ud3 ud0 (0F FF)', 6, ud3_f

        ARM     ud4_r
ud4_f:  db      0xF0, 0x90              ; lock nop
        FAILNOW 'ud4: lock nop did not fault'
ud4_r:  CAUGHT  'ud4 lock nop', 6, ud4_f

        ARM     ud5_r
        mov     ax, 1
ud5_f:  db      0xF0, 0x01, 0xD8        ; lock add ax, bx (register destination)
        FAILNOW 'ud5: lock add reg,reg did not fault'
ud5_r:  CAUGHT  'ud5 lock add ax,bx', 6, ud5_f
        EXPECTW ax, 1, 'ud5: ax changed'

        ARM     ud6_r
        mov     word [mem_word], 5
        mov     ax, 3
        lock add [mem_word], ax         ; lockable: no fault
ud6_r:  NOTCAUGHT 'ud6 lock add [mem],ax'
        EXPECTW [mem_word], 8, 'ud6: lock add [mem],ax result'

        ARM     ud7_r
ud7_f:  db      0xF0, 0x89, 0x06        ; lock mov [mem_word], ax
        dw      mem_word
        FAILNOW 'ud7: lock mov did not fault'
ud7_r:  CAUGHT  'ud7 lock mov [mem],ax', 6, ud7_f
        EXPECTW [mem_word], 8, 'ud7: memory written'

        ARM     ud8_r
ud8_f:  db      0x8D, 0xC3              ; lea ax, bx
        FAILNOW 'ud8: lea with a register operand did not fault'
ud8_r:  CAUGHT  'ud8 lea ax,bx', 6, ud8_f

        ARM     ud9_r
ud9_f:  db      0x8E, 0xC8              ; mov cs, ax
        FAILNOW 'ud9: mov cs,ax did not fault'
ud9_r:  CAUGHT  'ud9 mov cs,ax', 6, ud9_f

        ARM     ud10_r
ud10_f: db      0x62, 0xC0              ; bound ax, ax
        FAILNOW 'ud10: bound with a register operand did not fault'
ud10_r: CAUGHT  'ud10 bound ax,ax', 6, ud10_f

        ARM     ud11_r
ud11_f: db      0xC4, 0xC0              ; les ax, ax (not VEX in real mode)
        FAILNOW 'ud11: les with a register operand did not fault'
ud11_r: CAUGHT  'ud11 les ax,ax', 6, ud11_f

        ARM     ud12_r
ud12_f: db      0x66, 0x2E, 0x0F, 0x0B  ; o32 cs ud2: IP of the first prefix
        FAILNOW 'ud12: prefixed ud2 did not fault'
ud12_r: CAUGHT  'ud12 66 2E ud2', 6, ud12_f

        ARM     ud13_r
ud13_f: db      0x0F, 0x04              ; undefined 0F opcode
        FAILNOW 'ud13: 0F 04 did not fault'
ud13_r: CAUGHT  'ud13 0F 04', 6, ud13_f

; ==== #GP: segment limit (real mode: 0xFFFF) ===============================================
        ARM     gp1_r
        mov     ax, 0x1234
gp1_f:  mov     ax, [0xFFFF]
        FAILNOW 'gp1: word at DS:FFFF did not fault'
gp1_r:  CAUGHT  'gp1 mov ax,[FFFF]', 13, gp1_f
        EXPECTW ax, 0x1234, 'gp1: ax changed'

        ARM     gp2_r
        mov     byte [0xFFFF], 0x5A
        mov     al, [0xFFFF]            ; a byte at the limit is fine
gp2_r:  NOTCAUGHT 'gp2 byte at DS:FFFF'
        EXPECTB al, 0x5A, 'gp2: byte at FFFF'

        ARM     gp3_r
        mov     byte [0xFFFF], 0x11
        mov     ax, 0xABCD
gp3_f:  mov     [0xFFFF], ax
        FAILNOW 'gp3: word write at DS:FFFF did not fault'
gp3_r:  CAUGHT  'gp3 mov [FFFF],ax', 13, gp3_f
        EXPECTB [0xFFFF], 0x11, 'gp3: faulting write changed memory'

        ARM     gp4_r
gp4_f:  mov     eax, [0xFFFD]
        FAILNOW 'gp4: dword at DS:FFFD did not fault'
gp4_r:  CAUGHT  'gp4 mov eax,[FFFD]', 13, gp4_f

        ARM     gp5_r
        mov     esi, 0x10000
gp5_f:  mov     al, [esi]               ; 32-bit address above the limit
        FAILNOW 'gp5: [esi=10000] did not fault'
gp5_r:  CAUGHT  'gp5 mov al,[esi=0x10000]', 13, gp5_f

        ARM     gp6_r
gp6_f:  mov     ax, [es:0xFFFF]
        FAILNOW 'gp6: word at ES:FFFF did not fault'
gp6_r:  CAUGHT  'gp6 es:[FFFF]', 13, gp6_f

        ARM     gp7_r
gp7_f:  mov     ax, [cs:0xFFFF]
        FAILNOW 'gp7: word at CS:FFFF did not fault'
gp7_r:  CAUGHT  'gp7 cs:[FFFF]', 13, gp7_f

        ARM     gp8_r
gp8_f:  mov     ax, [fs:0xFFFF]
        FAILNOW 'gp8: word at FS:FFFF did not fault'
gp8_r:  CAUGHT  'gp8 fs:[FFFF]', 13, gp8_f

        ARM     gp9_r
gp9_f:  mov     ax, [gs:0xFFFF]
        FAILNOW 'gp9: word at GS:FFFF did not fault'
gp9_r:  CAUGHT  'gp9 gs:[FFFF]', 13, gp9_f

        ARM     gp10_r
        mov     si, 0xFFFF
        mov     di, 0x1000
gp10_f: movsw
        FAILNOW 'gp10: movsw from DS:FFFF did not fault'
gp10_r: CAUGHT  'gp10 movsw si=FFFF', 13, gp10_f
        EXPECTW si, 0xFFFF, 'gp10: si changed'

        ARM     gp11_r
        mov     si, 0x1000
        mov     di, 0xFFFF
gp11_f: movsw
        FAILNOW 'gp11: movsw to ES:FFFF did not fault'
gp11_r: CAUGHT  'gp11 movsw di=FFFF', 13, gp11_f
        EXPECTW di, 0xFFFF, 'gp11: di changed'

        ; A 16-bit effective address wraps at 64 KiB and does not fault: BX+SI = 0x10000 -> 0.
        ARM     gp12_r
        mov     bx, 0xFFFF
        mov     si, 1
        mov     ax, [bx + si]
gp12_r: NOTCAUGHT 'gp12 [bx+si] wrapping to 0'
        EXPECTW ax, catch_0, 'gp12: [bx+si] wrapped read (IVT entry 0)'

        ; An instruction that starts at CS:FFFF and continues past the limit: #GP at
        ; 1000:FFFF. The two bytes (mov al, 1) sit at linear 0x1FFFF and 0x20000.
        mov     ax, 0x1000
        mov     es, ax
        mov     byte [es:0xFFFF], 0xB0
        mov     ax, 0x2000
        mov     es, ax
        mov     byte [es:0x0000], 0x01
        xor     ax, ax
        mov     es, ax
        ARM     gp13_r
        jmp     0x1000:0xFFFF
gp13_r: EXPECTW [exc_count], 1, 'gp13 fetch across the CS limit: exception count'
        EXPECTW [exc_vec], 13, 'gp13 fetch across the CS limit: vector'
        EXPECTW [exc_ip], 0xFFFF, 'gp13 fetch across the CS limit: pushed IP'
        EXPECTW [exc_cs], 0x1000, 'gp13 fetch across the CS limit: pushed CS'

        ; JMP rel32 to 0x10000: the JMP itself faults (SDM Vol. 2A JMP, real-address
        ; mode exceptions: target beyond the code segment limit).
        ARM     gp14_r
gp14_f: db      0x66, 0xE9
        dd      0x10000 - (0x7C00 + ($ - $$) + 4)
        FAILNOW 'gp14: jmp past the CS limit did not fault'
gp14_r: CAUGHT  'gp14 o32 jmp 0x10000', 13, gp14_f

; ==== #SS ===================================================================================
        ARM     ss1_r
        mov     bp, 0xFFFF
ss1_f:  mov     ax, [bp]
        FAILNOW 'ss1: word at SS:FFFF did not fault'
ss1_r:  CAUGHT  'ss1 mov ax,[bp=FFFF]', 12, ss1_f

        ARM     ss2_r
ss2_f:  mov     ax, [ss:0xFFFF]
        FAILNOW 'ss2: word at ss:[FFFF] did not fault'
ss2_r:  CAUGHT  'ss2 mov ax,ss:[FFFF]', 12, ss2_f

        ARM     ss3_r
        mov     bp, 0xFFFE
        mov     ax, [bp]
ss3_r:  NOTCAUGHT 'ss3 word at SS:FFFE'

        ; POP with SP = 0xFFFF reads SS:FFFF..10000: #SS, SP unchanged.
        ARM     ss4_r
        mov     [saved_sp], sp
        mov     sp, 0xFFFF
        mov     ax, 0x4321
ss4_f:  pop     ax
        mov     sp, [saved_sp]
        FAILNOW 'ss4: pop with SP=FFFF did not fault'
        jmp     ss4_c
ss4_r:  mov     [mem_word], sp          ; SP after IRET: the value at the fault
        mov     sp, [saved_sp]
ss4_c:  CAUGHT  'ss4 pop sp=FFFF', 12, ss4_f
        EXPECTW [mem_word], 0xFFFF, 'ss4: SP after the faulting pop'
        EXPECTW ax, 0x4321, 'ss4: ax changed'

        ; PUSH with SP = 0 wraps to 0xFFFE; POP at 0xFFFE wraps SP to 0: no fault.
        ARM     ss5_r
        mov     [saved_sp], sp
        xor     sp, sp
        mov     ax, 0x6789
        push    ax
        mov     bx, sp
        mov     cx, [0xFFFE]
        pop     dx
        mov     si, sp
        mov     sp, [saved_sp]
ss5_r:  NOTCAUGHT 'ss5 push/pop wrapping SP'
        EXPECTW bx, 0xFFFE, 'ss5: SP after push with SP=0'
        EXPECTW cx, 0x6789, 'ss5: pushed word at FFFE'
        EXPECTW dx, 0x6789, 'ss5: popped word'
        EXPECTW si, 0x0000, 'ss5: SP after pop at FFFE'

; ==== #DB ===================================================================================
        ; ICEBP (F1): a #DB trap, IP after it.
        ARM     db1_r
        db      0xF1
db1_n:  FAILNOW 'db1: icebp did not trap'
db1_r:  CAUGHT  'db1 icebp', 1, db1_n

        ; TF single-stepping.
        SET_VECTOR 1, step_handler
        CLEAR_STEPS
        pushf
        pop     bx                      ; FLAGS without TF
        mov     ax, bx
        or      ax, F_TF
        push    bx
        push    ax
        popf                            ; TF = 1: no trap after this POPF
s1:     nop
s2:     mov     cx, 1
s3:     jmp     short s5
        FAILNOW 's3: jmp not taken'
s5:     add     cx, 1
s6:     popf                            ; TF = 0: still traps after it
s7:     nop
        EXPECTW [step_count], 5, 'tf1: number of single-step traps'
        EXPECTW [step_ips + 0], s2, 'tf1: trap 1 IP (after nop)'
        EXPECTW [step_ips + 2], s3, 'tf1: trap 2 IP (after mov)'
        EXPECTW [step_ips + 4], s5, 'tf1: trap 3 IP (jmp target)'
        EXPECTW [step_ips + 6], s6, 'tf1: trap 4 IP (after add)'
        EXPECTW [step_ips + 8], s7, 'tf1: trap 5 IP (after the popf clearing TF)'
        mov     ax, [step_flags]
        and     ax, F_TF
        EXPECTW ax, 0, 'tf1: TF in the FLAGS pushed by the last trap'
        EXPECTW cx, 2, 'tf1: cx'

        ; MOV SS holds the single-step trap until after the next instruction (SDM Vol. 3 §6.8.3).
        CLEAR_STEPS
        pushf
        pop     bx                      ; FLAGS without TF
        mov     ax, bx
        or      ax, F_TF
        push    bx
        push    ax
        popf
t1:     mov     dx, ss
t2:     mov     ss, dx
t3:     nop
t4:     popf
t5:
        EXPECTW [step_count], 3, 'tf2: number of traps around mov ss'
        EXPECTW [step_ips + 0], t2, 'tf2: trap 1 IP (after mov dx,ss)'
        EXPECTW [step_ips + 2], t4, 'tf2: trap 2 IP (after the insn following mov ss)'
        EXPECTW [step_ips + 4], t5, 'tf2: trap 3 IP (after popf)'

        ; REP MOVSB single-stepped: one trap per iteration; IP stays on the REP
        ; instruction until the last iteration.
        CLEAR_STEPS
        mov     si, 0x1000
        mov     di, 0x1100
        mov     cx, 3
        pushf
        pop     ax
        mov     bx, ax
        or      ax, F_TF
        push    bx
        push    ax
        popf
r1:     nop
r2:     rep movsb
r3:     popf
r4:     EXPECTW [step_count], 5, 'tf3: number of traps around rep movsb cx=3'
        EXPECTW [step_ips + 0], r2, 'tf3: trap 1 IP (after nop)'
        EXPECTW [step_ips + 2], r2, 'tf3: trap 2 IP (rep iteration 1)'
        EXPECTW [step_ips + 4], r2, 'tf3: trap 3 IP (rep iteration 2)'
        EXPECTW [step_ips + 6], r3, 'tf3: trap 4 IP (rep iteration 3)'
        EXPECTW [step_ips + 8], r4, 'tf3: trap 5 IP (after popf)'
        EXPECTW cx, 0, 'tf3: cx after rep'

        SET_VECTOR 1, catch_1
        FINISH

; ---- handlers --------------------------------------------------------------------------------

%macro CATCH_STUB 1
catch_%1:
        push    word %1
        jmp     catch_common
%endmacro
CATCH_STUB 0
CATCH_STUB 1
CATCH_STUB 3
CATCH_STUB 4
CATCH_STUB 5
CATCH_STUB 6
CATCH_STUB 12
CATCH_STUB 13
CATCH_STUB 80

; Stack: vector, IP, CS, FLAGS. Records them and resumes at resume_cs:resume_ip.
catch_common:
        push    bp
        mov     bp, sp
        push    ax
        push    ds
        pushf
        xor     ax, ax
        mov     ds, ax
        pop     word [exc_hflags]
        mov     ax, [bp + 2]
        cmp     ax, 80
        jne     .v
        mov     ax, 0x80                ; catch_80 is the INT 0x80 stub
.v:     mov     [exc_vec], ax
        mov     ax, [bp + 4]
        mov     [exc_ip], ax
        mov     ax, [bp + 6]
        mov     [exc_cs], ax
        mov     ax, [bp + 8]
        mov     [exc_flags], ax
        inc     word [exc_count]
        mov     ax, [resume_ip]
        mov     [bp + 4], ax
        mov     ax, [resume_cs]
        mov     [bp + 6], ax
        pop     ds
        pop     ax
        pop     bp
        add     sp, 2
        iret

; Single-step handler: records the pushed IP and FLAGS, returns to it.
step_handler:
        push    bp
        mov     bp, sp
        push    ax
        push    bx
        push    ds
        xor     ax, ax
        mov     ds, ax
        mov     bx, [step_count]
        cmp     bx, 16
        jae     .full
        shl     bx, 1
        mov     ax, [bp + 2]
        mov     [step_ips + bx], ax
.full:  inc     word [step_count]
        mov     ax, [bp + 6]
        mov     [step_flags], ax
        pop     ds
        pop     bx
        pop     ax
        pop     bp
        iret
