/* The CPU benchmark as a multiboot kernel (issue 6 bench (a)): runs the kernels,
 * prints each checksum and the total on COM1, then ends the machine through
 * QEMU's isa-debug-exit device at port 0xF4 (exit status (0<<1)|1 = 1 on QEMU
 * and on Kestrel's --debug-exit). The command line may hold "scale=N" or "quick".
 *
 * The multiboot header and the entry stub are in guest_start.S; the loader
 * enters `bench_main` in 32-bit protected mode with paging off.
 */
#include "kernels.h"

static inline void outb(unsigned short port, unsigned char v) {
  __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline unsigned char inb(unsigned short port) {
  unsigned char v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

static void putc_serial(char c) {
  if (c == '\n') putc_serial('\r');
  for (int i = 0; i < 100000 && !(inb(0x3FD) & 0x20); ++i) {
  }
  outb(0x3F8, (unsigned char)c);
}
static void puts_serial(const char* s) {
  while (*s) putc_serial(*s++);
}
static void puthex(unsigned v) {
  for (int i = 28; i >= 0; i -= 4) putc_serial("0123456789abcdef"[(v >> i) & 15]);
}

/* Multiboot info: flags bit 2 means cmdline (a physical address) is valid. */
struct multiboot_info {
  unsigned flags, mem_lower, mem_upper, boot_device, cmdline;
};

/* "scale=N" multiplies every kernel's rounds; "quick" (returned as 0) runs one
 * round of each, for the CI check. */
static unsigned parse_scale(const struct multiboot_info* mbi) {
  if (!mbi || !(mbi->flags & 4) || !mbi->cmdline) return 1;
  const char* s = (const char*)mbi->cmdline;
  for (; *s; ++s) {
    if (s[0] == 'q' && s[1] == 'u' && s[2] == 'i' && s[3] == 'c' && s[4] == 'k') return 0;
    if (s[0] == 's' && s[1] == 'c' && s[2] == 'a' && s[3] == 'l' && s[4] == 'e' && s[5] == '=') {
      unsigned v = 0;
      for (s += 6; *s >= '0' && *s <= '9'; ++s) v = v * 10 + (unsigned)(*s - '0');
      return v ? v : 1;  /* scale=0 is not "quick" */
    }
  }
  return 1;
}

void bench_main(unsigned magic, const struct multiboot_info* mbi) {
  unsigned scale = magic == 0x2BADB002u ? parse_scale(mbi) : 1;
  unsigned total = 0;
  bench_seed(1);
  for (const struct bench_kernel* k = bench_kernels; k->name; ++k) {
    unsigned sum = k->run(scale ? k->rounds * scale : 1);
    puts_serial("cpu-bench: ");
    puts_serial(k->name);
    puts_serial(" ");
    puthex(sum);
    puts_serial("\n");
    total = total * 0x9E3779B1u + sum;
  }
  puts_serial("cpu-bench: checksum ");
  puthex(total);
  puts_serial("\n");
  outb(0xF4, 0);
  for (;;) __asm__ volatile("cli; hlt");
}
