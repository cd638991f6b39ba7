; Kestrel's Linux boot option ROM: how `--bios` + `--kernel` boots Linux through
; the BIOS (the same job as QEMU's linuxboot_dma.bin, written for Kestrel).
;
; Kestrel puts this image into fw_cfg as "genroms/kestrel-linuxboot.bin" and names
; it first in the "bootorder" file ("/rom@genroms/kestrel-linuxboot.bin"). SeaBIOS
; copies it into the option ROM area, calls its init entry (offset 3), finds the
; PnP expansion header (BIOS Boot Specification 1.01, appendix C) and adds its
; Bootstrap Entry Vector to the boot menu; INT 19h then calls the BEV, which
;   1. reads from fw_cfg where the loader placed each part (keys 0x16/0x17 setup,
;      0x0A/0x0B initrd, 0x07/0x08 kernel, 0x13/0x14 command line: little-endian
;      u32 through the data port 0x511) and copies the parts there with fw_cfg DMA
;      (setup 0x18, initrd 0x12, kernel 0x11, command line 0x15);
;   2. enters the kernel's real-mode setup code as the Linux boot protocol says
;      (Documentation/arch/x86/boot.rst, "Running the kernel"): DS = ES = FS = GS =
;      SS = the setup segment, SP just below the command line (the heap end the
;      loader wrote into the header), CS:IP = setup segment + 0x20 : 0.
; Kestrel has already patched the setup header (type_of_loader, loadflags with
; CAN_USE_HEAP, heap_end_ptr, cmd_line_ptr, ramdisk_image/size) and fixes both
; checksums (PnP header, whole ROM) when it loads the image.
;
; fw_cfg DMA (QEMU docs/specs/fw_cfg.rst): a big-endian descriptor {u32 control,
; u32 length, u64 address}; its physical address goes to port 0x514 (high half)
; and 0x518 (low half, starts the transfer), each as a big-endian dword; control
; reads back 0 when done, with bit 0 set on an error.

bits 16
cpu 486
org 0

FW_SELECT       equ 0x510
FW_DATA         equ 0x511
FW_DMA_HIGH     equ 0x514
FW_DMA_LOW      equ 0x518
KEY_KERNEL_ADDR equ 0x07
KEY_KERNEL_SIZE equ 0x08
KEY_INITRD_ADDR equ 0x0A
KEY_INITRD_SIZE equ 0x0B
KEY_KERNEL_DATA equ 0x11
KEY_INITRD_DATA equ 0x12
KEY_CMDLINE_ADDR equ 0x13
KEY_CMDLINE_SIZE equ 0x14
KEY_CMDLINE_DATA equ 0x15
KEY_SETUP_ADDR  equ 0x16
KEY_SETUP_SIZE  equ 0x17
KEY_SETUP_DATA  equ 0x18
DMA_SELECT_READ equ 0x0A          ; SELECT | READ
DESC            equ 0x7000        ; scratch for the DMA descriptor (segment 0)
DEBUG_PORT      equ 0x402

rom_start:
    db 0x55, 0xAA                 ; option ROM signature
    db ROM_BLOCKS                 ; size in 512-byte blocks
    jmp init                      ; offset 3: initialisation entry
    times 0x18 - ($ - $$) db 0
    dw 0                          ; 0x18: no PCI data structure (not a PCI ROM)
    dw pnp_header                 ; 0x1A: PnP expansion header

    align 16, db 0
pnp_header:
    db '$PnP'
    db 1                          ; structure revision
    db 2                          ; length in 16-byte units
    dw 0                          ; next header: none
    db 0                          ; reserved
    db 0                          ; checksum (fixed by Kestrel)
    dd 0                          ; device identifier
    dw manufacturer               ; manufacturer string
    dw product                    ; product name (SeaBIOS's boot menu shows it)
    db 0, 0, 0                    ; device type code
    db 0                          ; device indicators
    dw 0                          ; boot connection vector: none
    dw 0                          ; disconnect vector
    dw bev                        ; bootstrap entry vector
    dw 0                          ; reserved
    dw 0                          ; static resource information vector

manufacturer: db 'Kestrel', 0
product:      db 'Linux (fw_cfg kernel)', 0

; Nothing to set up: the BIOS takes the BEV from the PnP header.
init:
    retf

; read32: EAX = the little-endian u32 item BX (through the data port). Clobbers CX, DX.
read32:
    mov ax, bx
    mov dx, FW_SELECT
    out dx, ax
    inc dx                        ; FW_DATA
    mov cx, 4
.byte:
    in al, dx                     ; byte i lands in bits 7:0, then rotates up: after
    ror eax, 8                    ; four rounds byte 0 is in bits 7:0, byte 3 in 31:24
    loop .byte
    ret

; dma_read: copy ECX bytes of item BX to physical address EDI (ES = 0).
dma_read:
    test ecx, ecx
    jz .done
    movzx eax, bx
    shl eax, 16
    or eax, DMA_SELECT_READ
    bswap eax
    mov [es:DESC], eax
    mov eax, ecx
    bswap eax
    mov [es:DESC + 4], eax
    mov dword [es:DESC + 8], 0
    mov eax, edi
    bswap eax
    mov [es:DESC + 12], eax
    xor eax, eax
    mov dx, FW_DMA_HIGH
    out dx, eax
    mov eax, DESC
    bswap eax
    mov dx, FW_DMA_LOW
    out dx, eax
.wait:
    mov eax, [es:DESC]
    test eax, 0xFEFFFFFF          ; anything but the (big-endian) error bit: busy
    jnz .wait
    test eax, eax
    jnz fail
.done:
    ret

fail:
    mov si, fail_msg
    mov dx, DEBUG_PORT
.print:
    cs lodsb
    test al, al
    jz .halt
    out dx, al
    jmp .print
.halt:
    cli
    hlt
    jmp .halt

fail_msg: db 'kestrel-linuxboot: fw_cfg DMA failed', 10, 0

bev:
    cli
    cld
    xor ax, ax
    mov es, ax
    ; the real-mode setup code (boot sector + setup sectors, header patched)
    mov bx, KEY_SETUP_ADDR
    call read32
    mov esi, eax
    mov bx, KEY_SETUP_SIZE
    call read32
    mov ecx, eax
    mov edi, esi
    mov bx, KEY_SETUP_DATA
    call dma_read
    ; the initrd (none: size 0)
    mov bx, KEY_INITRD_ADDR
    call read32
    mov edi, eax
    mov bx, KEY_INITRD_SIZE
    call read32
    mov ecx, eax
    mov bx, KEY_INITRD_DATA
    call dma_read
    ; the protected-mode kernel
    mov bx, KEY_KERNEL_ADDR
    call read32
    mov edi, eax
    mov bx, KEY_KERNEL_SIZE
    call read32
    mov ecx, eax
    mov bx, KEY_KERNEL_DATA
    call dma_read
    ; the command line
    mov bx, KEY_CMDLINE_ADDR
    call read32
    mov ebp, eax
    mov edi, eax
    mov bx, KEY_CMDLINE_SIZE
    call read32
    mov ecx, eax
    mov bx, KEY_CMDLINE_DATA
    call dma_read
    ; enter the setup code: segments at the setup, stack below the command line
    mov eax, esi
    shr eax, 4
    sub ebp, esi
    sub ebp, 16
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, ebp
    add ax, 0x20
    push ax
    push word 0
    xor eax, eax
    xor ebx, ebx
    xor ecx, ecx
    xor edx, edx
    xor esi, esi
    xor edi, edi
    xor ebp, ebp
    retf

    times 511 - ($ - $$) db 0
    db 0                          ; checksum byte (fixed by Kestrel)
ROM_BLOCKS equ 1
