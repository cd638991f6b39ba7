/* The CPU benchmark's integer kernels (issue 6, bench (a)).
 *
 * Freestanding C: no libc, no floating point, no host calls. The same file is
 * built twice — as a 32-bit multiboot kernel (guest_main.c) for Kestrel and QEMU,
 * and as a 32-bit host program (host_main.c) for the native baseline — so every
 * build runs exactly the same code and must print the same checksum.
 *
 * Each kernel works on buffers in static storage, is scaled by `scale` (the
 * number of rounds) and returns a 32-bit checksum of what it computed, so the
 * compiler cannot drop the work and a wrong emulation shows as a wrong sum.
 */
#include "kernels.h"

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

/* Our own memcpy/memset/memmove: the compiler may emit calls to them, and the
 * memory kernel measures them (written as word loops, as a libc's simple path). */
void* memcpy(void* dst, const void* src, unsigned long n) {
  u8* d = (u8*)dst;
  const u8* s = (const u8*)src;
  while (n >= 4 && (((unsigned long)d | (unsigned long)s) & 3) == 0) {
    *(u32*)d = *(const u32*)s;
    d += 4;
    s += 4;
    n -= 4;
  }
  while (n--) *d++ = *s++;
  return dst;
}

void* memset(void* dst, int c, unsigned long n) {
  u8* d = (u8*)dst;
  u32 w = (u8)c * 0x01010101u;
  while (n && ((unsigned long)d & 3)) {
    *d++ = (u8)c;
    --n;
  }
  while (n >= 4) {
    *(u32*)d = w;
    d += 4;
    n -= 4;
  }
  while (n--) *d++ = (u8)c;
  return dst;
}

void* memmove(void* dst, const void* src, unsigned long n) {
  u8* d = (u8*)dst;
  const u8* s = (const u8*)src;
  if (d <= s || d >= s + n) return memcpy(dst, src, n);
  while (n--) d[n] = s[n];
  return dst;
}

/* xorshift32: the deterministic source of all test data. */
static u32 rng_state;
static u32 rng(void) {
  u32 x = rng_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return rng_state = x;
}

#define BUF_SIZE (256 * 1024)
static u8 buf_a[BUF_SIZE];
static u8 buf_b[BUF_SIZE];

/* ---- hashing: SHA-256, CRC-32 (table) and FNV-1a over a 64 KiB buffer ---- */

static const u32 sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(u32 h[8], const u8* p) {
  u32 w[64];
  for (int i = 0; i < 16; ++i) w[i] = (u32)p[4 * i] << 24 | (u32)p[4 * i + 1] << 16 | (u32)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; ++i) {
    u32 s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    u32 s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  u32 a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; ++i) {
    u32 t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
    u32 t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static u32 crc_table[256];

static u32 kernel_hash(u32 scale) {
  for (u32 i = 0; i < 256; ++i) {
    u32 c = i;
    for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
  const u32 len = 64 * 1024;
  for (u32 i = 0; i < len; ++i) buf_a[i] = (u8)rng();
  u32 sum = 0;
  for (u32 round = 0; round < scale; ++round) {
    u32 h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    h[0] ^= round;
    for (u32 off = 0; off < len; off += 64) sha256_block(h, buf_a + off);
    u32 crc = ~0u;
    for (u32 i = 0; i < len; ++i) crc = crc_table[(crc ^ buf_a[i]) & 0xFF] ^ (crc >> 8);
    u32 fnv = 0x811C9DC5u;
    for (u32 i = 0; i < len; ++i) fnv = (fnv ^ buf_a[i]) * 0x01000193u;
    sum = sum * 31 + h[0] + h[7] + ~crc + fnv;
    buf_a[round % len] ^= (u8)sum;  /* the next round hashes different data */
  }
  return sum;
}

/* ---- sorting: quicksort (median of three, insertion sort below 16) and a
 * bottom-up merge sort of 16,384 random 32-bit keys ---- */

static void insertion_sort(u32* a, int n) {
  for (int i = 1; i < n; ++i) {
    u32 v = a[i];
    int j = i - 1;
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j];
      --j;
    }
    a[j + 1] = v;
  }
}

static void quick_sort(u32* a, int n) {
  while (n > 16) {
    u32 x = a[0], y = a[n / 2], z = a[n - 1];
    u32 pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    int i = 0, j = n - 1;
    for (;;) {
      while (a[i] < pivot) ++i;
      while (a[j] > pivot) --j;
      if (i >= j) break;
      u32 t = a[i];
      a[i] = a[j];
      a[j] = t;
      ++i;
      --j;
    }
    /* recurse into the smaller part, loop on the larger: bounded stack */
    if (j + 1 < n - j - 1) {
      quick_sort(a, j + 1);
      a += j + 1;
      n -= j + 1;
    } else {
      quick_sort(a + j + 1, n - j - 1);
      n = j + 1;
    }
  }
  insertion_sort(a, n);
}

static void merge_sort(u32* a, u32* tmp, int n) {
  for (int width = 1; width < n; width *= 2) {
    for (int lo = 0; lo < n; lo += 2 * width) {
      int mid = lo + width < n ? lo + width : n;
      int hi = lo + 2 * width < n ? lo + 2 * width : n;
      int i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
      while (i < mid) tmp[k++] = a[i++];
      while (j < hi) tmp[k++] = a[j++];
    }
    u32* t = a;
    a = tmp;
    tmp = t;
    (void)t;
    memcpy(tmp, a, (unsigned long)n * 4);
  }
}

static u32 kernel_sort(u32 scale) {
  const int n = 16384;
  u32* a = (u32*)buf_a;
  u32* tmp = (u32*)buf_b;
  u32 sum = 0;
  for (u32 round = 0; round < scale; ++round) {
    for (int i = 0; i < n; ++i) a[i] = rng() % 1000003u;
    if (round & 1) merge_sort(a, tmp, n);
    else quick_sort(a, n);
    u32 s = 0;
    for (int i = 1; i < n; ++i) {
      if (a[i - 1] > a[i]) return 0xBAD50127u;  /* not sorted: the checksum shows it */
      s = s * 33 + a[i];
    }
    sum += s ^ a[n / 3];
  }
  return sum;
}

/* ---- a small bytecode interpreter: a stack machine with 16 opcodes running
 * a program that counts primes with trial division and sums a Collatz walk ---- */

enum { OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_SUB, OP_MUL, OP_MOD, OP_DIV2, OP_LT, OP_EQ,
       OP_JZ, OP_JMP, OP_DUP, OP_POP, OP_AND1, OP_HALT };

static u32 vm_run(const int* code, u32* vars) {
  u32 stack[64];
  int sp = 0, pc = 0;
  for (;;) {
    int op = code[pc++];
    switch (op) {
      case OP_PUSH: stack[sp++] = (u32)code[pc++]; break;
      case OP_LOAD: stack[sp++] = vars[code[pc++]]; break;
      case OP_STORE: vars[code[pc++]] = stack[--sp]; break;
      case OP_ADD: --sp; stack[sp - 1] += stack[sp]; break;
      case OP_SUB: --sp; stack[sp - 1] -= stack[sp]; break;
      case OP_MUL: --sp; stack[sp - 1] *= stack[sp]; break;
      case OP_MOD: --sp; stack[sp - 1] = stack[sp] ? stack[sp - 1] % stack[sp] : 0; break;
      case OP_DIV2: stack[sp - 1] >>= 1; break;
      case OP_LT: --sp; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
      case OP_EQ: --sp; stack[sp - 1] = stack[sp - 1] == stack[sp]; break;
      case OP_JZ: { int t = code[pc++]; if (stack[--sp] == 0) pc = t; } break;
      case OP_JMP: pc = code[pc]; break;
      case OP_DUP: stack[sp] = stack[sp - 1]; ++sp; break;
      case OP_POP: --sp; break;
      case OP_AND1: stack[sp - 1] &= 1; break;
      case OP_HALT: return vars[0];
      default: return 0xBADC0DEu;
    }
  }
}

/* The program, assembled at start-up with labels (vars: 0 result, 1 n,
 * 2 limit, 3 d, 4 is_prime, 5 x, 6 steps):
 *   for (n = 2; n < limit; ++n) {
 *     is_prime = 1;
 *     for (d = 2; d * d < n + 1; ++d) if (n % d == 0) is_prime = 0;
 *     result += is_prime;
 *     for (x = n; x != 1; ++steps) x = x & 1 ? 3 * x + 1 : x / 2;
 *   }                                                                  */
enum { V_RESULT, V_N, V_LIMIT, V_D, V_PRIME, V_X, V_STEPS };

static int vm_code[160];
static int vm_len;

static int vm_emit(int x) {
  vm_code[vm_len] = x;
  return vm_len++;
}
static void vm_op1(int op, int arg) {
  vm_emit(op);
  vm_emit(arg);
}
/* A jump whose target is not known yet: returns the operand's index to patch. */
static int vm_jump(int op) {
  vm_emit(op);
  return vm_emit(-1);
}
static void vm_patch(int at) { vm_code[at] = vm_len; }

static void vm_build(void) {
  vm_len = 0;
  vm_op1(OP_PUSH, 2), vm_op1(OP_STORE, V_N);
  int outer = vm_len;
  vm_op1(OP_LOAD, V_N), vm_op1(OP_LOAD, V_LIMIT), vm_emit(OP_LT);
  int to_end = vm_jump(OP_JZ);
  vm_op1(OP_PUSH, 1), vm_op1(OP_STORE, V_PRIME), vm_op1(OP_PUSH, 2), vm_op1(OP_STORE, V_D);
  int inner = vm_len;
  vm_op1(OP_LOAD, V_D), vm_op1(OP_LOAD, V_D), vm_emit(OP_MUL);
  vm_op1(OP_LOAD, V_N), vm_op1(OP_PUSH, 1), vm_emit(OP_ADD), vm_emit(OP_LT);
  int to_inner_done = vm_jump(OP_JZ);
  vm_op1(OP_LOAD, V_N), vm_op1(OP_LOAD, V_D), vm_emit(OP_MOD), vm_op1(OP_PUSH, 0), vm_emit(OP_EQ);
  int to_next_d = vm_jump(OP_JZ);
  vm_op1(OP_PUSH, 0), vm_op1(OP_STORE, V_PRIME);
  vm_patch(to_next_d);
  vm_op1(OP_LOAD, V_D), vm_op1(OP_PUSH, 1), vm_emit(OP_ADD), vm_op1(OP_STORE, V_D);
  vm_op1(OP_JMP, inner);
  vm_patch(to_inner_done);
  vm_op1(OP_LOAD, V_RESULT), vm_op1(OP_LOAD, V_PRIME), vm_emit(OP_ADD), vm_op1(OP_STORE, V_RESULT);
  vm_op1(OP_LOAD, V_N), vm_op1(OP_STORE, V_X);
  int collatz = vm_len;
  vm_op1(OP_LOAD, V_X), vm_op1(OP_PUSH, 1), vm_emit(OP_EQ);
  int to_step = vm_jump(OP_JZ);
  int to_after = vm_jump(OP_JMP);
  vm_patch(to_step);
  vm_op1(OP_LOAD, V_X), vm_emit(OP_AND1);
  int to_even = vm_jump(OP_JZ);
  vm_op1(OP_LOAD, V_X), vm_op1(OP_PUSH, 3), vm_emit(OP_MUL), vm_op1(OP_PUSH, 1), vm_emit(OP_ADD);
  vm_op1(OP_STORE, V_X);
  int to_count = vm_jump(OP_JMP);
  vm_patch(to_even);
  vm_op1(OP_LOAD, V_X), vm_emit(OP_DIV2), vm_op1(OP_STORE, V_X);
  vm_patch(to_count);
  vm_op1(OP_LOAD, V_STEPS), vm_op1(OP_PUSH, 1), vm_emit(OP_ADD), vm_op1(OP_STORE, V_STEPS);
  vm_op1(OP_JMP, collatz);
  vm_patch(to_after);
  vm_op1(OP_LOAD, V_N), vm_op1(OP_PUSH, 1), vm_emit(OP_ADD), vm_op1(OP_STORE, V_N);
  vm_op1(OP_JMP, outer);
  vm_patch(to_end);
  vm_emit(OP_HALT);
}

static u32 kernel_vm(u32 scale) {
  vm_build();
  u32 sum = 0;
  for (u32 round = 0; round < scale; ++round) {
    u32 vars[8] = {0, 0, 1000 + (round & 7), 0, 0, 0, 0, 0};
    u32 primes = vm_run(vm_code, vars);
    sum = sum * 7 + primes + vars[6];
  }
  return sum;
}

/* ---- memory: copies and fills of several sizes and alignments ---- */

static u32 kernel_memory(u32 scale) {
  u32 sum = 0;
  for (u32 i = 0; i < BUF_SIZE; ++i) buf_a[i] = (u8)(i * 7 + 3);
  for (u32 round = 0; round < scale; ++round) {
    for (u32 k = 0; k < 16; ++k) {
      u32 len = 1024u << (k & 7);     /* 1 KiB .. 128 KiB */
      u32 src = (rng() % 64) & ~(k & 3);
      u32 dst = rng() % 64;
      memcpy(buf_b + dst, buf_a + src, len);
      memset(buf_a + (rng() % 4096), (int)(round + k), len / 2);
      memmove(buf_b + 17, buf_b, len / 4);
      sum = sum * 3 + buf_b[dst + len / 2] + buf_b[(rng() % len)] + buf_a[len - 1];
    }
  }
  return sum;
}

/* ---- string search: naive and Boyer-Moore-Horspool over a 128 KiB text of
 * a small alphabet, for many patterns ---- */

static int search_naive(const u8* text, int n, const u8* pat, int m) {
  int count = 0;
  for (int i = 0; i + m <= n; ++i) {
    int j = 0;
    while (j < m && text[i + j] == pat[j]) ++j;
    if (j == m) ++count;
  }
  return count;
}

static int search_bmh(const u8* text, int n, const u8* pat, int m) {
  int skip[256];
  for (int i = 0; i < 256; ++i) skip[i] = m;
  for (int i = 0; i < m - 1; ++i) skip[pat[i]] = m - 1 - i;
  int count = 0;
  for (int i = 0; i + m <= n; i += skip[text[i + m - 1]]) {
    int j = m - 1;
    while (j >= 0 && text[i + j] == pat[j]) --j;
    if (j < 0) ++count;
  }
  return count;
}

static u32 kernel_search(u32 scale) {
  const int n = 128 * 1024;
  for (int i = 0; i < n; ++i) buf_a[i] = (u8)('a' + rng() % 4);
  u32 sum = 0;
  for (u32 round = 0; round < scale; ++round) {
    u8 pat[16];
    int m = 3 + (int)(round % 10);
    int at = (int)(rng() % (u32)(n - m));
    for (int i = 0; i < m; ++i) pat[i] = buf_a[at + i];
    int a = search_naive(buf_a, n, pat, m);
    int b = search_bmh(buf_a, n, pat, m);
    if (a != b) return 0xBAD5EA4Cu;
    sum = sum * 5 + (u32)a;
  }
  return sum;
}

const struct bench_kernel bench_kernels[] = {
    {"hash", kernel_hash, 100},
    {"sort", kernel_sort, 36},
    {"vm", kernel_vm, 15},
    {"memory", kernel_memory, 50},
    {"search", kernel_search, 36},
    {0, 0, 0},
};

void bench_seed(u32 seed) { rng_state = seed ? seed : 0x2545F491u; }
