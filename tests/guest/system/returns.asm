; returns: IRET and RETF checks and forms in protected mode.
;
; SDM Vol. 2 IRET (PROTECTED-MODE-RETURN, RETURN-TO-OUTER-PRIVILEGE-LEVEL) and
; RET (far return): the return CS is checked first (null -> #GP(0); RPL < CPL,
; non-conforming DPL != RPL -> #GP(CS); not present -> #NP(CS)); for an outer
; level the popped SS next (null -> #GP(0); RPL != CS RPL, not writable data,
; DPL != CS RPL -> #GP(SS); not present -> #SS(SS)); then the new EIP against
; the CS limit (-> #GP(0)). RETF n releases n bytes on both stacks.
; IRETD to a 16-bit code segment; a 16-bit IRET (66h CF in 32-bit code) pops
; IP, CS, FLAGS as words and leaves EFLAGS[31:16] alone.
; Flags: IRET/POPF change IOPL only at CPL0, IF only when CPL <= IOPL; VM in
; the image is honoured only at CPL0 (an IRET at CPL3 stays in protected
; mode); POPFD never sets VM.

%define TEST_NAME 'returns'
        org     0x7C00
%include "common.inc"
%include "pm.inc"

absolute PM_TEST_VARS
v_esp:          resd 1
v_cs:           resd 1
v_flags:        resd 1
v_flags2:       resd 1
v_flags3:       resd 1
v_ok16:         resd 1
section .text

SEL_NP_DATA3    equ 0x80        ; data DPL3, not present
SEL_NP_CODE3    equ 0x88        ; code DPL3, not present
SEL_DATA2       equ 0x90        ; data DPL2
SEL_CODE3_64K   equ 0x98        ; 32-bit code DPL3, limit 0xFFFF bytes
SEL_CODE3_RO    equ 0xA0        ; unused
SEL_RODATA3     equ 0xA8        ; data DPL3 read-only
EF_IF           equ 0x200
EF_IOPL         equ 0x3000
EF_AC           equ 0x40000

; IRET_TO cs, ss, eip: an IRETD frame to an outer level (ESP = STACK3_TOP), EFLAGS 2
%macro IRET_FRAME 3
        push    dword %2
        push    dword STACK3_TOP
        push    dword 2
        push    dword %1
        push    dword %3
%endmacro
%macro RETF_FRAME 3
        push    dword %2
        push    dword STACK3_TOP
        push    dword %1
        push    dword %3
%endmacro

main:
        INIT
        call    pm_setup
        SETDESC SEL_NP_DATA3, 0, 0xFFFFF, ACC_DATA3 & 0x7F, FL_32
        SETDESC SEL_NP_CODE3, 0, 0xFFFFF, ACC_CODE3 & 0x7F, FL_32
        SETDESC SEL_DATA2, 0, 0xFFFFF, 0xD2, FL_32
        SETDESC SEL_CODE3_64K, 0, 0xFFFF, ACC_CODE3, 0x4
        SETDESC SEL_RODATA3, 0, 0xFFFFF, 0xF0, FL_32
        ENTER_PM32

; ---- IRET / RETF checks to an outer level -----------------------------------------------------
%macro BAD_RETURN 7                     ; name, iretd|retf, cs, ss, eip, vector, error
        TRY
        %ifidn %2, iretd
        IRET_FRAME %3, %4, %5
        %else
        RETF_FRAME %3, %4, %5
        %endif
        AT
        %2
        EXPECT_EXC %1, %6, %7
%endmacro
        BAD_RETURN 'iretd cs=0 ss=SEL_DATA32_R3 eip=.nowhere', iretd, 0, SEL_DATA32_R3, .nowhere, 13, 0
        BAD_RETURN 'iretd cs=SEL_NP_CODE3 | 3 ss=SEL_DATA32_R3 eip=.nowhere', iretd, SEL_NP_CODE3 | 3, SEL_DATA32_R3, .nowhere, 11, SEL_NP_CODE3
        BAD_RETURN 'iretd cs=SEL_DATA32_R3 ss=SEL_DATA32_R3 eip=.nowhere', iretd, SEL_DATA32_R3, SEL_DATA32_R3, .nowhere, 13, SEL_DATA32_R3 & ~3
        BAD_RETURN 'iretd cs=SEL_CODE32_R3 ss=0 eip=.nowhere', iretd, SEL_CODE32_R3, 0, .nowhere, 13, 0
        BAD_RETURN 'iretd cs=SEL_CODE32_R3 ss=SEL_DATA32_R3 & ~3 eip=.nowhere', iretd, SEL_CODE32_R3, SEL_DATA32_R3 & ~3, .nowhere, 13, SEL_DATA32_R3 & ~3
        BAD_RETURN 'iretd cs=SEL_CODE32_R3 ss=SEL_DATA2 | 3 eip=.nowhere', iretd, SEL_CODE32_R3, SEL_DATA2 | 3, .nowhere, 13, SEL_DATA2
        BAD_RETURN 'iretd cs=SEL_CODE32_R3 ss=SEL_RODATA3 | 3 eip=.nowhere', iretd, SEL_CODE32_R3, SEL_RODATA3 | 3, .nowhere, 13, SEL_RODATA3
        BAD_RETURN 'iretd cs=SEL_CODE32_R3 ss=SEL_NP_DATA3 | 3 eip=.nowhere', iretd, SEL_CODE32_R3, SEL_NP_DATA3 | 3, .nowhere, 12, SEL_NP_DATA3
        BAD_RETURN 'iretd cs=SEL_CODE3_64K | 3 ss=SEL_DATA32_R3 eip=0x10000', iretd, SEL_CODE3_64K | 3, SEL_DATA32_R3, 0x10000, 13, 0
        BAD_RETURN 'iretd cs=SEL_CODE3_64K | 3 ss=SEL_NP_DATA3 | 3 eip=0x10000', iretd, SEL_CODE3_64K | 3, SEL_NP_DATA3 | 3, 0x10000, 12, SEL_NP_DATA3
        BAD_RETURN 'retf cs=SEL_NP_CODE3 | 3 ss=SEL_DATA32_R3 eip=.nowhere', retf, SEL_NP_CODE3 | 3, SEL_DATA32_R3, .nowhere, 11, SEL_NP_CODE3
        BAD_RETURN 'retf cs=SEL_CODE32_R3 ss=SEL_DATA2 | 3 eip=.nowhere', retf, SEL_CODE32_R3, SEL_DATA2 | 3, .nowhere, 13, SEL_DATA2
        BAD_RETURN 'retf cs=SEL_CODE32_R3 ss=SEL_NP_DATA3 | 3 eip=.nowhere', retf, SEL_CODE32_R3, SEL_NP_DATA3 | 3, .nowhere, 12, SEL_NP_DATA3
        BAD_RETURN 'retf cs=SEL_CODE32_R3 ss=0 eip=.nowhere', retf, SEL_CODE32_R3, 0, .nowhere, 13, 0
        BAD_RETURN 'retf cs=SEL_CODE3_64K | 3 ss=SEL_DATA32_R3 eip=0x10000', retf, SEL_CODE3_64K | 3, SEL_DATA32_R3, 0x10000, 13, 0
        BAD_RETURN 'retf cs=SEL_CODE3_64K | 3 ss=SEL_NP_DATA3 | 3 eip=0x10000', retf, SEL_CODE3_64K | 3, SEL_NP_DATA3 | 3, 0x10000, 12, SEL_NP_DATA3

        ; same level: EIP past the limit of the return CS
        TRY
        push    dword SEL_CODE16
        push    dword 0x10000
        AT
        retf
        EXPECT_EXC 'retf to 0018:10000 (limit FFFFh)', 13, 0

; ---- RETF n to an outer level ----------------------------------------------------------------
        ARM_RESUME .rn_fault
        mov     dword [r3_back_eip], .rn_back
        mov     [r3_back_esp], esp
        push    dword SEL_DATA32_R3
        push    dword STACK3_TOP - 0x20
        push    dword 0x11111111                ; 8 bytes of "parameters" on this stack
        push    dword 0x22222222
        push    dword SEL_CODE32_R3
        push    dword .r3_rn
        retf    8
.r3_rn: mov     [ss:v_esp], esp
        RING3_EXIT
.rn_fault:
        FAIL32  'retf 8 to ring 3 faulted'
.rn_back:
        DISARM
        CHECK32 dword [v_esp], STACK3_TOP - 0x20 + 8, 'retf 8 to ring 3: ESP + 8 on the outer stack'

; ---- IRETD to a 16-bit code segment, 16-bit IRET -----------------------------------------------
        mov     dword [v_ok16], 0
        pushfd
        or      dword [esp], EF_AC
        popfd                                   ; AC = 1 (CR0.AM = 0: no checks); the image clears it
        push    dword 2
        push    dword SEL_CODE16
        push    dword code16
        iretd
.back32:
        CHECK32 dword [v_ok16], 2, 'iretd to 16-bit code and o16 iret back'
        CHECK32M dword [v_flags], EF_AC, 0, 'iretd to 16-bit code: EFLAGS.AC loaded from the image (0)'
        pushfd
        pop     dword [v_flags2]
        CHECK32M dword [v_flags2], EF_AC | 0xFFFF, EF_AC | 0x0002, '16-bit IRET: FLAGS loaded, EFLAGS.AC kept'
        pushfd
        and     dword [esp], ~EF_AC
        popfd

; ---- flag rules: IRET at CPL3 --------------------------------------------------------------------
        R3_TRY
        push    dword EF_IF | EF_IOPL | 2
        push    dword SEL_CODE32_R3
        push    dword .r3f1
        iretd                                   ; same level, IOPL 0: IF and IOPL unchanged
.r3f1:  pushfd
        pop     dword [v_flags]
        R3_NOFAULT 'iretd at CPL3 (IOPL 0)'
        CHECK32M dword [v_flags], EF_IF | EF_IOPL, 0, 'iretd at CPL3, IOPL 0: IF and IOPL unchanged'

        R3_TRY  EF_IOPL | 2
        push    dword EF_IF | 2                 ; IF 1, IOPL 0
        push    dword SEL_CODE32_R3
        push    dword .r3f2
        iretd
.r3f2:  pushfd
        pop     dword [v_flags]
        R3_NOFAULT 'iretd at CPL3 (IOPL 3)'
        CHECK32M dword [v_flags], EF_IF | EF_IOPL, EF_IF | EF_IOPL, 'iretd at CPL3, IOPL 3: IF set, IOPL kept'

        R3_TRY
        push    dword EF_VM | 2                 ; VM in the image: ignored at CPL3
        push    dword SEL_CODE32_R3
        push    dword .r3f3
        iretd
.r3f3:  mov     eax, 0x12345678                 ; 32-bit code: still protected mode
        mov     [v_flags3], eax
        pushfd
        pop     dword [v_flags]
        R3_NOFAULT 'iretd at CPL3 with VM in the image'
        CHECK32 dword [v_flags3], 0x12345678, 'iretd at CPL3 with VM: 32-bit code ran'
        CHECK32M dword [v_flags], EF_VM, 0, 'iretd at CPL3 with VM: VM clear'

        ; CPL0: IRET changes IOPL; POPFD never sets VM
        push    dword EF_IOPL | 2
        push    dword SEL_CODE32
        push    dword .f4
        iretd
.f4:    pushfd
        pop     dword [v_flags]
        CHECK32M dword [v_flags], EF_IOPL, EF_IOPL, 'iretd at CPL0: IOPL loaded'
        pushfd
        or      dword [esp], EF_VM
        and     dword [esp], ~EF_IOPL
        popfd
        mov     eax, 0x87654321                 ; 32-bit code: VM stayed clear
        pushfd
        pop     dword [v_flags]
        CHECK32M dword [v_flags], EF_VM | EF_IOPL, 0, 'popfd at CPL0: VM not set, IOPL cleared'
        CHECK32 eax, 0x87654321, 'popfd with VM: still 32-bit code'

        FINISH32
.nowhere:
        FAIL32  'returned to a target that must not be reached'
        FINISH32

bits 16
code16:
        mov     ax, SEL_DATA32
        mov     ds, ax
        pushfd
        pop     dword [v_flags]
        inc     dword [v_ok16]
        pushfd
        or      dword [esp], EF_AC              ; AC = 1: a 16-bit IRET must keep it
        popfd
        ; 16-bit IRET back to 32-bit code: IP, CS, FLAGS as words
        push    word 0x0002
        push    word SEL_CODE32
        push    word main.back32
        inc     dword [v_ok16]
        iret
bits 32
