/* Makes this CPU look like an AVX2-only one (no AVX-512, no AVX-VNNI, no bf16, no AMX) to the
 * libraries of one process, so their AVX2 code paths can be timed on a CPU that has more.
 *
 * bench/avx2_only.py replaces every `cpuid` instruction (0F A2) of the venv copy's native
 * libraries with `ud2` (0F 0B, also two bytes) and lists the patched sites in the file named by
 * CPUID_CAP_TABLE ("library-file-name hex-offset" lines). Loaded with LD_PRELOAD, this library handles the
 * SIGILL that a patched site raises: it runs the real cpuid with the caller's leaf and subleaf,
 * clears the feature bits above AVX2 and resumes after the instruction. A ud2 that is not a
 * listed site is a real fault and crashes as it would have. cpuid only runs while libraries pick
 * their kernels (at load or first use), so the timing of the kernels is untouched.
 * Build: gcc -O2 -shared -fPIC -o cpuid_cap.so cpuid_cap.c -ldl */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#define MAX_SITES 8192
struct site { char path[256]; unsigned long offset; };
static struct site sites[MAX_SITES];
static int n_sites;
static volatile unsigned long emulated;

static int is_site(const void *address) {
    Dl_info info;
    if (!dladdr(address, &info) || !info.dli_fname)
        return 0;
    unsigned long offset = (unsigned long)address - (unsigned long)info.dli_fbase;
    const char *slash = strrchr(info.dli_fname, '/'); /* loaded by many spellings of its path */
    const char *name = slash ? slash + 1 : info.dli_fname;
    for (int i = 0; i < n_sites; i++)
        if (sites[i].offset == offset && strcmp(sites[i].path, name) == 0)
            return 1;
    return 0;
}

static void mask(unsigned leaf, unsigned subleaf, unsigned *a, unsigned *b, unsigned *c, unsigned *d) {
    if (leaf == 7 && subleaf == 0) {
        /* EBX: AVX512F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31 */
        *b &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) |
                (1u << 30) | (1u << 31));
        /* ECX: AVX512_VBMI 1, VBMI2 6, VNNI 11, BITALG 12, VPOPCNTDQ 14 */
        *c &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
        /* EDX: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, AMX_BF16 22, AVX512_FP16 23, AMX_TILE 24, AMX_INT8 25 */
        *d &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25));
    } else if (leaf == 7 && subleaf == 1) {
        /* EAX: AVX_VNNI 4, AVX512_BF16 5, AMX_FP16 21, AVX_IFMA 23; EDX: AVX_VNNI_INT8 4, AVX_NE_CONVERT 5 */
        *a &= ~((1u << 4) | (1u << 5) | (1u << 21) | (1u << 23));
        *d &= ~((1u << 4) | (1u << 5));
    } else if (leaf == 0x1d || leaf == 0x1e || leaf == 0x24) {
        *a = *b = *c = *d = 0; /* AMX tile and AVX10 enumeration */
    }
}

static void on_sigill(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    greg_t *regs = uc->uc_mcontext.gregs;
    unsigned char *ip = (unsigned char *)regs[REG_RIP];
    if (ip[0] == 0x0f && ip[1] == 0x0b && is_site(ip)) {
        unsigned leaf = (unsigned)regs[REG_RAX], subleaf = (unsigned)regs[REG_RCX], a, b, c, d;
        __cpuid_count(leaf, subleaf, a, b, c, d);
        mask(leaf, subleaf, &a, &b, &c, &d);
        regs[REG_RAX] = a; regs[REG_RBX] = b; regs[REG_RCX] = c; regs[REG_RDX] = d;
        regs[REG_RIP] += 2;
        emulated++;
        return;
    }
    signal(SIGILL, SIG_DFL); /* a real illegal instruction: fault again, as without us */
    (void)sig; (void)info;
}

static void report(void) {
    if (getenv("CPUID_CAP_VERBOSE"))
        fprintf(stderr, "cpuid_cap: %lu cpuid calls answered as an AVX2-only CPU\n", emulated);
}

__attribute__((constructor)) static void install(void) {
    const char *table = getenv("CPUID_CAP_TABLE");
    FILE *f = table ? fopen(table, "r") : NULL;
    if (!f) {
        fprintf(stderr, "cpuid_cap: CPUID_CAP_TABLE not readable; nothing capped\n");
        return;
    }
    while (n_sites < MAX_SITES && fscanf(f, "%255s %lx", sites[n_sites].path, &sites[n_sites].offset) == 2)
        n_sites++;
    fclose(f);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigill;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGILL, &action, NULL);
    atexit(report);
}
