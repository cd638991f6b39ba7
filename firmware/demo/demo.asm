; Kestrel's demo guest: starts in real mode at 0000:7C00, reports the CPU,
; switches to 32-bit protected mode, turns on 4-level paging and long mode, runs
; a small workload (primes below 100000 by trial division) in 64-bit mode,
; prints the result and halts. Output goes to the debug console (port 0xE9).
;
; Memory: code at 0x7C00, stack below it, page tables at 0x10000-0x12FFF.

bits 16
org 0x7C00

start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7C00
        mov     si, msg_hello
        call    print16

        ; CPU brand string (CPUID 0x80000002..4) or the vendor string.
        mov     eax, 0x80000000
        cpuid
        cmp     eax, 0x80000004
        jb      .vendor
        mov     di, brand
        mov     esi, 0x80000002
.brand: mov     eax, esi
        cpuid
        mov     [di], eax
        mov     [di+4], ebx
        mov     [di+8], ecx
        mov     [di+12], edx
        add     di, 16
        inc     esi
        cmp     esi, 0x80000005
        jne     .brand
        jmp     .show
.vendor:
        xor     eax, eax
        cpuid
        mov     [brand], ebx
        mov     [brand+4], edx
        mov     [brand+8], ecx
.show:  mov     si, msg_cpu
        call    print16
        mov     si, brand
        call    print16
        mov     si, msg_nl
        call    print16

        ; Long mode needs CPUID.80000001:EDX.LM.
        mov     eax, 0x80000001
        cpuid
        bt      edx, 29
        jc      .has_lm
        mov     si, msg_nolm
        call    print16
        jmp     halt16
.has_lm:
        lgdt    [gdt_desc]
        mov     eax, cr0
        or      eax, 1
        mov     cr0, eax
        jmp     0x08:pm32

print16:                        ; DS:SI, NUL-terminated
        lodsb
        test    al, al
        jz      .done
        out     0xE9, al
        jmp     print16
.done:  ret

halt16: cli
        hlt

bits 32
pm32:
        mov     ax, 0x10
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     esp, 0x7C00
        mov     esi, msg_pm
        call    print32

        ; Identity-map the first 2 MiB with one 2 MiB page: PML4 -> PDPT -> PD.
        mov     edi, 0x10000
        xor     eax, eax
        mov     ecx, 3 * 4096 / 4
        rep     stosd
        mov     dword [0x10000], 0x11000 | 3
        mov     dword [0x11000], 0x12000 | 3
        mov     dword [0x12000], 0x000000 | 0x83      ; present, writable, 2 MiB
        mov     eax, 0x10000
        mov     cr3, eax
        mov     eax, cr4
        or      eax, 1 << 5                            ; PAE
        mov     cr4, eax
        mov     ecx, 0xC0000080                        ; EFER.LME
        rdmsr
        or      eax, 1 << 8
        wrmsr
        mov     eax, cr0
        or      eax, 1 << 31                           ; paging on: long mode active
        mov     cr0, eax
        jmp     0x18:lm64

print32:                        ; ESI
        lodsb
        test    al, al
        jz      .done
        out     0xE9, al
        jmp     print32
.done:  ret

bits 64
lm64:
        mov     rsi, msg_lm
        call    print64

        ; Count the primes below 100000 by trial division.
        mov     r8, 2               ; candidate
        xor     r9, r9              ; count
.cand:  mov     rcx, 2
.trial: mov     rax, rcx
        mul     rcx
        cmp     rax, r8
        ja      .prime
        mov     rax, r8
        xor     edx, edx
        div     rcx
        test    rdx, rdx
        jz      .next
        inc     rcx
        jmp     .trial
.prime: inc     r9
.next:  inc     r8
        cmp     r8, 100000
        jb      .cand

        mov     rsi, msg_primes
        call    print64
        mov     rax, r9
        call    print_dec64
        mov     rsi, msg_nl
        call    print64
        mov     rsi, msg_bye
        call    print64
        cli
        hlt

print64:                        ; RSI
        lodsb
        test    al, al
        jz      .done
        out     0xE9, al
        jmp     print64
.done:  ret

print_dec64:                    ; RAX, unsigned decimal
        mov     rbx, 10
        xor     rcx, rcx
.div:   xor     edx, edx
        div     rbx
        push    rdx
        inc     rcx
        test    rax, rax
        jnz     .div
.out:   pop     rax
        add     al, '0'
        out     0xE9, al
        loop    .out
        ret

align 8
gdt:    dq      0
        dq      0x00CF9A000000FFFF      ; 0x08: 32-bit code
        dq      0x00CF92000000FFFF      ; 0x10: data
        dq      0x00AF9A000000FFFF      ; 0x18: 64-bit code
gdt_desc:
        dw      gdt_desc - gdt - 1
        dd      gdt

msg_hello:  db "Kestrel demo guest: real mode at 0000:7C00", 10, 0
msg_cpu:    db "CPU: ", 0
msg_nl:     db 10, 0
msg_nolm:   db "this CPU model has no long mode; stopping", 10, 0
msg_pm:     db "32-bit protected mode", 10, 0
msg_lm:     db "64-bit long mode with 4-level paging", 10, 0
msg_primes: db "primes below 100000: ", 0
msg_bye:    db "done; halting", 10, 0
brand:      times 49 db 0
