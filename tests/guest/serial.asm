; serial: the 16550A UART at 0x3F8 (COM1), polled (PC16550D data sheet,
; tables II-IV). Programs the line (divisor latch, 8N1, FIFOs), checks the
; registers read back (divisor, LCR, scratch, LSR = THRE|TEMT, IIR with FIFOs
; and nothing pending), a loopback round trip (MCR.LOOP: the byte comes back
; in RBR with LSR.DR, MSR shows RTS/OUT2 as CTS/DCD, nothing goes out on the
; line), then sends "PASS serial" through THR, polling LSR bit 5 before each
; byte. Failures are reported on the debug console; the PASS line only ever
; goes through the UART.

%define TEST_NAME 'serial'
        org     0x7C00
%include "common.inc"

%define COM1 0x3F8
%define THR  COM1 + 0
%define RBR  COM1 + 0
%define DLL  COM1 + 0
%define IER  COM1 + 1
%define DLM  COM1 + 1
%define IIR  COM1 + 2
%define FCR  COM1 + 2
%define LCR  COM1 + 3
%define MCR  COM1 + 4
%define LSR  COM1 + 5
%define MSR  COM1 + 6
%define SCR  COM1 + 7

%macro OUTB 2
        mov     dx, %1
        mov     al, %2
        out     dx, al
%endmacro

%macro INB 1
        mov     dx, %1
        in      al, dx
%endmacro

main:
        INIT

; ---- line setup: 115200 8N1, FIFOs on ---------------------------------------------------------
        OUTB    IER, 0x00
        OUTB    LCR, 0x80               ; DLAB
        OUTB    DLL, 0x01
        OUTB    DLM, 0x00
        INB     DLL
        EXPECTB al, 0x01, 'divisor latch low readback'
        INB     DLM
        EXPECTB al, 0x00, 'divisor latch high readback'
        OUTB    LCR, 0x03               ; 8 data bits, no parity, 1 stop bit, DLAB off
        INB     LCR
        EXPECTB al, 0x03, 'LCR readback'
        OUTB    FCR, 0xC7               ; FIFOs on, both cleared, trigger level 14
        OUTB    MCR, 0x0B               ; DTR, RTS, OUT2
        INB     MCR
        EXPECTB al, 0x0B, 'MCR readback'
        INB     IER
        EXPECTB al, 0x00, 'IER readback (DLAB off)'

; ---- registers ------------------------------------------------------------------------------------
        OUTB    SCR, 0x5A
        INB     SCR
        EXPECTB al, 0x5A, 'scratch 5A'
        OUTB    SCR, 0xA5
        INB     SCR
        EXPECTB al, 0xA5, 'scratch A5'
        INB     LSR
        EXPECTB al, 0x60, 'LSR idle (THRE|TEMT, no data)'
        INB     IIR
        EXPECTB al, 0xC1, 'IIR (FIFOs enabled, no interrupt pending)'

; ---- loopback ----------------------------------------------------------------------------------------
        OUTB    MCR, 0x1A               ; LOOP | OUT2 | RTS
        INB     MSR
        and     al, 0xF0
        EXPECTB al, 0x90, 'MSR in loopback (DCD|CTS from OUT2|RTS)'
        OUTB    THR, 0xAE
        INB     LSR
        and     al, 0x01
        EXPECTB al, 0x01, 'loopback: LSR.DR after send'
        INB     RBR
        EXPECTB al, 0xAE, 'loopback: RBR'
        INB     LSR
        and     al, 0x01
        EXPECTB al, 0x00, 'loopback: LSR.DR after read'
        OUTB    MCR, 0x0B

; ---- the report --------------------------------------------------------------------------------------
        cmp     word [fail_count], 0
        jne     .done
        mov     si, pass_msg
.next:  lodsb
        test    al, al
        jz      .done
        mov     ah, al
        mov     dx, LSR
.wait:  in      al, dx
        test    al, 0x20                ; THRE
        jz      .wait
        mov     al, ah
        mov     dx, THR
        out     dx, al
        jmp     .next
.done:  cli
        hlt
        jmp     .done

pass_msg:       db 'PASS serial', 10, 0
