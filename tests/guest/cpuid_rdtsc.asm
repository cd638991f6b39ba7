; cpuid_rdtsc: CPUID and RDTSC (SDM Vol. 2A CPUID, Vol. 2B RDTSC).
;
; Checks: EFLAGS.ID (bit 21) can be toggled, which is how software detects
; CPUID (and AC, bit 18, which tells a 486 from a 386); leaf 0 gives the
; vendor "GenuineIntel" in EBX, EDX, ECX and a maximum leaf >= 1; leaf 1 gives
; a nonzero signature of family 6 (Pentium Pro class) and the feature bits the
; other guest tests rely on (TSC, CX8, CMOV); a leaf above the maximum returns
; the highest basic leaf's data; RDTSC counts up.

%define TEST_NAME 'cpuid_rdtsc'
        org     0x7C00
%include "common.inc"

absolute 0x0600
max_leaf:       resd 1
leaf_max_eax:   resd 1
leaf_max_ebx:   resd 1
leaf_max_ecx:   resd 1
leaf_max_edx:   resd 1
tsc1:           resd 2
section .text

; TOGGLE_EFLAGS bit, label: the bit can be flipped with POPFD and reads back flipped.
%macro TOGGLE_EFLAGS 2
        pushfd
        pop     eax
        mov     ecx, eax                ; original
        xor     eax, %1
        push    eax
        popfd
        pushfd
        pop     eax
        push    ecx
        popfd                           ; restore
        xor     eax, ecx
        and     eax, %1
        EXPECTD eax, %1, %2
%endmacro

main:
        INIT

        TOGGLE_EFLAGS (1 << 21), 'EFLAGS.ID cannot be toggled (no CPUID)'
        TOGGLE_EFLAGS (1 << 18), 'EFLAGS.AC cannot be toggled'

; ---- leaf 0 -----------------------------------------------------------------------------------
        xor     eax, eax
        cpuid
        mov     [max_leaf], eax
        EXPECTD ebx, 'Genu', 'leaf 0 ebx'
        EXPECTD edx, 'ineI', 'leaf 0 edx'
        EXPECTD ecx, 'ntel', 'leaf 0 ecx'
        cmp     eax, 1
        jae     .max_ok
        FAILNOW 'leaf 0: maximum basic leaf < 1'
.max_ok:

; ---- leaf 1 -----------------------------------------------------------------------------------
        mov     eax, 1
        cpuid
        mov     esi, eax
        test    eax, eax
        jnz     .sig_ok
        FAILNOW 'leaf 1: signature is 0'
.sig_ok:
        shr     esi, 8
        and     esi, 0xF
        EXPECTD esi, 6, 'leaf 1: family (eax[11:8])'
        mov     esi, edx
        and     esi, (1 << 4) | (1 << 8) | (1 << 15)
        EXPECTD esi, (1 << 4) | (1 << 8) | (1 << 15), 'leaf 1: edx TSC/CX8/CMOV bits'

; ---- a leaf above the maximum returns the highest basic leaf ------------------------------------
        mov     eax, [max_leaf]
        xor     ecx, ecx
        cpuid
        mov     [leaf_max_eax], eax
        mov     [leaf_max_ebx], ebx
        mov     [leaf_max_ecx], ecx
        mov     [leaf_max_edx], edx
        mov     eax, [max_leaf]
        inc     eax
        xor     ecx, ecx
        cpuid
        EXPECTD eax, [leaf_max_eax], 'leaf max+1: eax differs from leaf max'
        EXPECTD ebx, [leaf_max_ebx], 'leaf max+1: ebx differs from leaf max'
        EXPECTD edx, [leaf_max_edx], 'leaf max+1: edx differs from leaf max'

; ---- RDTSC --------------------------------------------------------------------------------------
        rdtsc
        mov     [tsc1], eax
        mov     [tsc1 + 4], edx
        mov     cx, 100
.spin:  loop    .spin
        rdtsc
        ; EDX:EAX > tsc1 (64-bit unsigned compare)
        cmp     edx, [tsc1 + 4]
        ja      .tsc_ok
        jb      .tsc_bad
        cmp     eax, [tsc1]
        ja      .tsc_ok
.tsc_bad:
        FAILNOW 'rdtsc did not increase'
.tsc_ok:
        ; A second pair, back to back.
        rdtsc
        mov     esi, eax
        mov     edi, edx
        rdtsc
        sub     eax, esi
        sbb     edx, edi
        mov     ebx, eax
        or      ebx, edx
        jnz     .tsc2_ok
        FAILNOW 'rdtsc: two back-to-back reads are equal'
.tsc2_ok:
        test    edx, 0x80000000
        jz      .tsc3_ok
        FAILNOW 'rdtsc went backwards'
.tsc3_ok:

        FINISH
